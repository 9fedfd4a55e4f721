package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

const (
	mdnsPort = 5353
	// legacyTTL caps the TTLs sent to a querier that is not an mDNS
	// stack (one asking from a port other than 5353), RFC 6762, 6.7.
	legacyTTL = 10
	// cacheFlush is the top bit of a record's class: the record replaces
	// all others of its name and type in caches (RFC 6762, 10.2).
	cacheFlush = 1 << 15
	// unicastResponse is the top bit of a question's class: the querier
	// prefers a unicast answer (RFC 6762, 5.4).
	unicastResponse = 1 << 15
	// announceGap is the time between the two unsolicited announcements
	// (RFC 6762, 8.3).
	announceGap = time.Second
)

var mdnsGroup4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: mdnsPort}

// responder answers mDNS queries over IPv4 for the services of its links,
// each query from the link it arrived on.
type responder struct {
	conn   *ipv4.PacketConn
	links  map[int]*link // by interface index
	logger *slog.Logger

	done      chan struct{} // closed by stop
	announced chan struct{} // closed when announce returns
	wg        sync.WaitGroup
	stopOnce  sync.Once
}

// startResponder opens the mDNS socket, joins the group on every link,
// starts answering and sends the announcements.
func startResponder(links []*link, logger *slog.Logger) (*responder, error) {
	lc := net.ListenConfig{Control: shareMDNSPort}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", mdnsPort))
	if err != nil {
		return nil, fmt.Errorf("cannot open the mDNS port %d: %w", mdnsPort, err)
	}
	r := &responder{
		conn:      ipv4.NewPacketConn(pc),
		links:     map[int]*link{},
		logger:    logger,
		done:      make(chan struct{}),
		announced: make(chan struct{}),
	}
	if err := r.setUp(links); err != nil {
		pc.Close()
		return nil, err
	}
	r.wg.Add(1)
	go r.serve()
	go r.announce()
	return r, nil
}

// setUp configures the socket and joins the mDNS group on each link,
// keeping the links where that works.
func (r *responder) setUp(links []*link) error {
	// The interface a query came in on decides what is answered.
	if err := r.conn.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return fmt.Errorf("cannot learn the interface of mDNS packets: %w", err)
	}
	if err := r.conn.SetMulticastTTL(255); err != nil { // RFC 6762, 11
		return fmt.Errorf("cannot set the mDNS packets' TTL: %w", err)
	}
	for _, l := range links {
		if err := r.conn.JoinGroup(&l.ifc, mdnsGroup4); err != nil {
			r.logger.Warn("mDNS: not announcing on this interface", "interface", l.ifc.Name, "err", err)
			continue
		}
		r.links[l.ifc.Index] = l
	}
	if len(r.links) == 0 {
		return errors.New("cannot join the mDNS group on any interface")
	}
	return nil
}

// serve answers queries until the socket is closed.
func (r *responder) serve() {
	defer r.wg.Done()
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := r.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.logger.Debug("mDNS: read failed", "err", err)
			continue
		}
		from, ok := src.(*net.UDPAddr)
		if cm == nil || !ok {
			continue
		}
		// Queries from interfaces share does not listen on are not ours
		// to answer.
		if l := r.links[cm.IfIndex]; l != nil {
			r.handle(l, buf[:n], from)
		}
	}
}

// handle answers one packet received on l.
func (r *responder) handle(l *link, pkt []byte, from *net.UDPAddr) {
	var query dns.Msg
	if query.Unpack(pkt) != nil || query.Response || query.Opcode != dns.OpcodeQuery || query.Rcode != dns.RcodeSuccess {
		return // RFC 6762, 18: silently ignored
	}
	resp, to := reply(&query, from, l)
	if resp != nil {
		r.send(l, resp, to)
	}
}

// reply builds the response to query from the records of l, and where to
// send it: to the querier itself when it asked from another port than
// 5353 (a legacy resolver) or wants unicast for every question, otherwise
// to the group.
func reply(query *dns.Msg, from *net.UDPAddr, l *link) (*dns.Msg, *net.UDPAddr) {
	var answers []dns.RR
	unicast := true
	for _, q := range query.Question {
		unicast = unicast && q.Qclass&unicastResponse != 0
		q.Qclass &^= unicastResponse
		answers = appendUnique(answers, l.answer(q)...)
	}
	if len(answers) == 0 {
		return nil, nil
	}
	resp := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Answer: answers, Compress: true}
	if from.Port != mdnsPort {
		resp.Id = query.Id
		resp.Question = query.Question
		for _, rr := range answers {
			rr.Header().Ttl = min(rr.Header().Ttl, legacyTTL)
		}
		return resp, from
	}
	setCacheFlush(answers)
	if unicast {
		return resp, from
	}
	return resp, mdnsGroup4
}

// setCacheFlush marks the records that belong to this share alone: the
// instance's SRV and TXT. Pointers are shared by every instance of a type,
// and the host's addresses with whatever else this machine announces.
func setCacheFlush(rrs []dns.RR) {
	for _, rr := range rrs {
		switch rr.(type) {
		case *dns.SRV, *dns.TXT:
			rr.Header().Class |= cacheFlush
		}
	}
}

// unsolicited builds an announcement or goodbye message of records, all
// with the given TTL.
func unsolicited(rrs []dns.RR, ttl uint32) *dns.Msg {
	for _, rr := range rrs {
		rr.Header().Ttl = ttl
	}
	setCacheFlush(rrs)
	return &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Answer: rrs, Compress: true}
}

// announce sends every link's records twice, a second apart, so that
// browsers already listening see the share without asking.
func (r *responder) announce() {
	defer close(r.announced)
	for i := range 2 {
		if i > 0 {
			select {
			case <-r.done:
				return
			case <-time.After(announceGap):
			}
		}
		for _, l := range r.links {
			r.send(l, unsolicited(l.announcement(), 120), mdnsGroup4)
		}
	}
}

// send writes msg out of the link's interface.
func (r *responder) send(l *link, msg *dns.Msg, to *net.UDPAddr) {
	b, err := msg.Pack()
	if err == nil {
		_, err = r.conn.WriteTo(b, &ipv4.ControlMessage{IfIndex: l.ifc.Index}, to)
	}
	if err != nil {
		r.logger.Warn("mDNS: cannot send", "interface", l.ifc.Name, "to", to, "err", err)
	}
}

// stop sends the goodbyes (TTL 0, RFC 6762, 10.1) and closes the socket.
func (r *responder) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		<-r.announced // no announcement may follow the goodbye
		for _, l := range r.links {
			r.send(l, unsolicited(l.goodbye(), 0), mdnsGroup4)
		}
		r.conn.Close()
		r.wg.Wait()
	})
}
