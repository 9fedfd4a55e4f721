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
	"syscall"
	"time"
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
	pasv   *net.TCPListener // waiting passive listener, at most one
	timer  *time.Timer      // closes pasv when the client never comes
	active netip.AddrPort   // PORT/EPRT target, if valid
	data   io.Closer        // what a running transfer waits on or sends to
	closed bool
}

// listenPassive replaces any earlier data setup with a new passive
// listener on the control connection's local address and returns its port.
func (s *session) listenPassive(low, high int, wait time.Duration) (int, error) {
	s.reset()
	ln, err := bindPassive(s.conn.local, low, high)
	if err != nil {
		return 0, err
	}
	_ = ln.SetDeadline(time.Now().Add(wait))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return 0, net.ErrClosed
	}
	s.pasv = ln
	s.timer = time.AfterFunc(wait, func() { s.dropListener(ln) })
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// bindPassive listens on ip at a free port of low..high, or at a port the
// kernel picks when low is 0. It starts at a random port of the range so
// sessions spread out.
func bindPassive(ip netip.Addr, low, high int) (*net.TCPListener, error) {
	if low == 0 {
		return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	}
	n := high - low + 1
	start := rand.IntN(n)
	for i := range n {
		port := low + (start+i)%n
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("passive listen on %s port %d: %w", ip, port, err)
		}
	}
	return nil, fmt.Errorf("no free passive port in %d-%d", low, high)
}

// dropListener closes ln if it is still the waiting passive listener.
func (s *session) dropListener(ln *net.TCPListener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasv == ln {
		s.pasv.Close()
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
		s.pasv.Close()
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
		dc, err = s.accept(ln)
		ln.Close()
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
type listenerConn struct{ ln *net.TCPListener }

func (l listenerConn) Close() error { return l.ln.Close() }

// dialing cancels a PORT/EPRT connection in progress.
type dialing struct{ cancel context.CancelFunc }

func (d dialing) Close() error { d.cancel(); return nil }
