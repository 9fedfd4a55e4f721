package ftpshare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"example.com/share/internal/netutil"
)

const (
	// pasvTimeout is how long a passive port waits for the client.
	pasvTimeout = 60 * time.Second
	// dialTimeout bounds the connection to a PORT or EPRT address.
	dialTimeout = 10 * time.Second
)

// session is the data-connection state of one control connection. goftp
// keeps it in Session.Data; Close of the control connection releases it.
type session struct {
	conn *ctrlConn

	// Fields below belong to the session goroutine, except those under mu.
	rest    int64 // offset of the next RETR, set by REST
	epsvAll bool  // EPSV ALL: only EPSV may set up data connections

	mu     sync.Mutex
	pasv   *passive       // waiting passive listener, at most one
	timer  *time.Timer    // closes pasv when the client never comes
	active netip.AddrPort // PORT/EPRT target, if valid
	data   io.Closer      // what a running transfer waits on or sends to
	closed bool
}

// errPassiveQuota reports a client address that already holds as many
// waiting passive listeners as it may.
var errPassiveQuota = errors.New("too many passive ports open for this client address")

// passive is a waiting passive listener. It counts against its client
// address's quota until it is closed.
type passive struct {
	ln   *net.TCPListener
	srv  *Server
	key  netip.Addr // clientKey of the session's peer
	once sync.Once
}

// close closes the listener and gives its place back to the quota.
func (p *passive) close() {
	p.once.Do(func() {
		p.ln.Close()
		p.srv.releasePassive(p.key)
	})
}

// listenPassive replaces any earlier data setup with a new passive
// listener on the control connection's local address and returns its port.
// It fails with errPassiveQuota when the client's address (all its
// sessions together) already holds its share of listeners.
func (s *session) listenPassive(low, high int, wait time.Duration) (int, error) {
	s.reset()
	srv, key := s.conn.srv, clientKey(s.conn.peer)
	if !srv.reservePassive(key) {
		return 0, errPassiveQuota
	}
	ln, err := bindPassive(s.conn.local, low, high)
	if err != nil {
		srv.releasePassive(key)
		return 0, err
	}
	p := &passive{ln: ln, srv: srv, key: key}
	_ = ln.SetDeadline(time.Now().Add(wait))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.close()
		return 0, net.ErrClosed
	}
	s.pasv = p
	s.timer = time.AfterFunc(wait, func() { s.dropListener(p) })
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// passiveQuota is how many waiting passive listeners one client address
// may hold at once, over all its sessions: half the range, so that one
// address cannot take every port, or a few with the default range.
// A listener waits only from PASV/EPSV until the client connects, so
// honest clients, even with several sessions, rarely hold more than one.
func passiveQuota(low, high int) int {
	if low == 0 {
		return defaultPassiveQuota
	}
	return max((high-low+1)/2, 1)
}

// defaultPassiveQuota is the quota when no range is set (the dynamic
// ports, shared with every other program).
const defaultPassiveQuota = 4

// reservePassive takes a place of key's passive quota, or reports false.
func (s *Server) reservePassive(key netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasvOpen[key] >= s.pasvQuota {
		return false
	}
	s.pasvOpen[key]++
	return true
}

// releasePassive gives back a place taken by reservePassive.
func (s *Server) releasePassive(key netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasvOpen[key]--; s.pasvOpen[key] <= 0 {
		delete(s.pasvOpen, key)
	}
}

// The passive ports when no range is set: the dynamic range. share binds
// a port of it itself rather than have the kernel pick one, because
// every transfer leaves its port in TIME_WAIT (the server closes the data
// connection first: that is how FTP ends a file), and the kernel's pick
// avoids such ports: after about 28,000 transfers within a minute (a
// mirror of many small files) it had none left and refused passive
// ports, and it spent longer and longer searching before that. A port
// bound by number is reused at once (Go sets SO_REUSEADDR).
const (
	dynamicPortsLow  = 49152
	dynamicPortsHigh = 65535
)

// bindPassive listens on ip at a free port of low..high (the dynamic
// ports when low is 0). It starts at a random port of the range so
// sessions spread out.
func bindPassive(ip netip.Addr, low, high int) (*net.TCPListener, error) {
	if low == 0 {
		low, high = dynamicPortsLow, dynamicPortsHigh
	}
	n := high - low + 1
	start := rand.IntN(n)
	for i := range n {
		port := low + (start+i)%n
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err == nil {
			return ln, nil
		}
		if !netutil.AddrInUse(err) {
			return nil, fmt.Errorf("passive listen on %s port %d: %w", ip, port, err)
		}
	}
	return nil, fmt.Errorf("no free passive port in %d-%d", low, high)
}

// dropListener closes p if it is still the waiting passive listener.
func (s *session) dropListener(p *passive) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasv == p {
		s.pasv.close()
		s.pasv = nil
	}
}

// setActive replaces any earlier data setup with a PORT/EPRT target.
func (s *session) setActive(target netip.AddrPort) {
	s.reset()
	s.mu.Lock()
	s.active = target
	s.mu.Unlock()
}

// reset closes the waiting passive listener and forgets the PORT target.
func (s *session) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

func (s *session) clearLocked() {
	if s.pasv != nil {
		s.pasv.close()
		s.pasv = nil
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.active = netip.AddrPort{}
}

// ready reports whether PASV, EPSV, PORT or EPRT prepared a connection.
func (s *session) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pasv != nil || s.active.IsValid()
}

// open returns the data connection that PASV/EPSV or PORT/EPRT prepared.
// Either way it is used once.
func (s *session) open() (*net.TCPConn, error) {
	s.mu.Lock()
	ln, target := s.pasv, s.active
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.pasv, s.active = nil, netip.AddrPort{}
	s.mu.Unlock()
	var dc *net.TCPConn
	var err error
	switch {
	case ln != nil:
		// Recorded so that ABOR or the session's end stops the wait.
		s.setData(listenerConn{ln})
		dc, err = s.accept(ln.ln)
		ln.close()
	case target.IsValid():
		dc, err = s.dial(target)
	default:
		return nil, errNoDataSetup
	}
	if err != nil {
		s.setData(nil)
		return nil, err
	}
	if !s.setData(dc) {
		dc.Close()
		return nil, net.ErrClosed
	}
	return dc, nil
}

// errNoDataSetup reports a transfer without PASV, EPSV, PORT or EPRT.
var errNoDataSetup = errors.New("no data connection set up")

// accept waits for the client on the passive listener. Connections from
// any other address are closed at once: they must not steal the data.
func (s *session) accept(ln *net.TCPListener) (*net.TCPConn, error) {
	for {
		dc, err := ln.AcceptTCP()
		if err != nil {
			return nil, fmt.Errorf("accept passive data connection: %w", err)
		}
		from := addrOf(dc.RemoteAddr())
		if from == s.conn.peer {
			return dc, nil
		}
		s.conn.srv.log.Warn("ftp data connection from a foreign address refused",
			"conn", s.conn.id, "client", s.conn.peer, "from", from)
		dc.Close()
	}
}

// dial connects to the PORT/EPRT target from our control address.
func (s *session) dial(target netip.AddrPort) (*net.TCPConn, error) {
	d := net.Dialer{
		Timeout:   dialTimeout,
		LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.conn.local, 0)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	s.setData(dialing{cancel})
	c, err := d.DialContext(ctx, "tcp", target.String())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", target, err)
	}
	return c.(*net.TCPConn), nil
}

// setData records what a running transfer uses, so close can end it. It
// reports false when the session is already closed.
func (s *session) setData(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if c != nil {
			c.Close()
		}
		return false
	}
	s.data = c
	return true
}

// stopData closes the data connection of the running transfer.
func (s *session) stopData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil {
		s.data.Close()
	}
}

// endData forgets the data connection after a transfer.
func (s *session) endData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil {
		s.data.Close()
		s.data = nil
	}
}

// close releases everything when the control connection ends.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.clearLocked()
	if s.data != nil {
		s.data.Close()
		s.data = nil
	}
}

// listenerConn closes a passive listener that a transfer waits on.
type listenerConn struct{ p *passive }

func (l listenerConn) Close() error { l.p.close(); return nil }

// dialing cancels a PORT/EPRT connection in progress.
type dialing struct{ cancel context.CancelFunc }

func (d dialing) Close() error { d.cancel(); return nil }
