package discovery

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// legacyTTL caps the TTLs sent to a querier that is not an mDNS
	// stack (one asking from a port other than 5353), RFC 6762, 6.7.
	legacyTTL = 10
	// announceTTL is the TTL of every record announced (RFC 6762, 10).
	announceTTL = 120
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

// responder answers mDNS queries for the services of its links, each
// query from the records of the link it arrived on, over IPv4 and IPv6.
type responder struct {
	socks  []*socket
	logger *slog.Logger

	done      chan struct{} // closed by stop
	announced chan struct{} // closed when announce returns
	wg        sync.WaitGroup
	stopOnce  sync.Once
}

// A socket is a transport with the links whose group it joined.
type socket struct {
	transport
	links map[int]*link // by interface index
}

// startResponder opens the mDNS sockets, joins the group on every link,
// starts answering and sends the announcements.
func startResponder(links []*link, logger *slog.Logger) (*responder, error) {
	r := &responder{logger: logger, done: make(chan struct{}), announced: make(chan struct{})}
	var errs []error
	for _, open := range []func() (transport, error){openTransport4, openTransport6} {
		s, err := r.openSocket(open, links)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.socks = append(r.socks, s)
	}
	if len(r.socks) == 0 {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		logger.Debug("mDNS: one IP version unavailable", "err", err)
	}
	for _, s := range r.socks {
		r.wg.Add(1)
		go r.serve(s)
	}
	go r.announce()
	return r, nil
}

// openSocket opens a transport and joins the mDNS group on each link,
// keeping the links where that works.
func (r *responder) openSocket(open func() (transport, error), links []*link) (*socket, error) {
	t, err := open()
	if err != nil {
		return nil, err
	}
	s := &socket{transport: t, links: map[int]*link{}}
	for _, l := range links {
		if err := t.join(&l.ifc); err != nil {
			r.logger.Debug("mDNS: not on this interface", "interface", l.ifc.Name, "ip", t, "err", err)
			continue
		}
		s.links[l.ifc.Index] = l
	}
	if len(s.links) == 0 {
		t.close()
		return nil, fmt.Errorf("cannot join the %v mDNS group on any interface", t)
	}
	return s, nil
}

// serve answers queries on s until it is closed.
func (r *responder) serve(s *socket) {
	defer r.wg.Done()
	buf := make([]byte, 9000)
	for {
		n, ifIndex, from, err := s.read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.logger.Debug("mDNS: read failed", "err", err)
			time.Sleep(10 * time.Millisecond) // no busy loop on a lasting error
			continue
		}
		// Queries from interfaces share does not listen on are not ours
		// to answer.
		if l := s.links[ifIndex]; l != nil && from != nil {
			r.handle(s, l, buf[:n], from)
		}
	}
}

// handle answers one packet received on l.
func (r *responder) handle(s *socket, l *link, pkt []byte, from *net.UDPAddr) {
	var query dns.Msg
	if query.Unpack(pkt) != nil || query.Response || query.Opcode != dns.OpcodeQuery || query.Rcode != dns.RcodeSuccess {
		return // RFC 6762, 18: silently ignored
	}
	if resp, unicast := reply(&query, from, l); resp != nil {
		to := (*net.UDPAddr)(nil)
		if unicast {
			to = from
		}
		r.send(s, l, resp, to)
	}
}

// reply builds the response to query from the records of l, and tells
// whether it goes to the querier alone: when it asked from another port
// than 5353 (a legacy resolver) or wants unicast for every question.
// Otherwise it goes to the group.
func reply(query *dns.Msg, from *net.UDPAddr, l *link) (resp *dns.Msg, unicast bool) {
	var answers []dns.RR
	unicast = true
	for _, q := range query.Question {
		unicast = unicast && q.Qclass&unicastResponse != 0
		q.Qclass &^= unicastResponse
		answers = appendUnique(answers, l.answer(q)...)
	}
	if len(answers) == 0 {
		return nil, false
	}
	resp = &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Answer: answers, Compress: true}
	if from.Port != mdnsPort {
		resp.Id = query.Id
		resp.Question = query.Question
		for _, rr := range answers {
			rr.Header().Ttl = min(rr.Header().Ttl, legacyTTL)
		}
		return resp, true
	}
	setCacheFlush(answers)
	return resp, unicast
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
		r.sendAll(func(l *link) *dns.Msg { return unsolicited(l.announcement(), announceTTL) })
	}
}

// sendAll multicasts the message made for each link on every socket.
func (r *responder) sendAll(msg func(*link) *dns.Msg) {
	for _, s := range r.socks {
		for _, l := range s.links {
			r.send(s, l, msg(l), nil)
		}
	}
}

// send writes msg out of the link's interface to the querier, or to the
// group when to is nil.
func (r *responder) send(s *socket, l *link, msg *dns.Msg, to *net.UDPAddr) {
	b, err := msg.Pack()
	if err == nil {
		err = s.send(b, l.ifc.Index, to)
	}
	if err != nil {
		r.logger.Warn("mDNS: cannot send", "interface", l.ifc.Name, "ip", s.transport, "err", err)
	}
}

// stop sends the goodbyes (TTL 0, RFC 6762, 10.1) and closes the sockets.
func (r *responder) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		<-r.announced // no announcement may follow the goodbye
		r.sendAll(func(l *link) *dns.Msg { return unsolicited(l.goodbye(), 0) })
		for _, s := range r.socks {
			s.close()
		}
		r.wg.Wait()
	})
}
