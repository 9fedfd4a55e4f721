// Package ftpshare serves a sharefs.View over anonymous, read-only FTP.
//
// It runs goftp.io/server/v2 and makes it safe for a network from the
// outside: its own command table (read-only, anonymous, hardened data
// connections, resume, UTC times) and its own listener (connection caps,
// idle time-out, bounded command lines, graceful shutdown).
package ftpshare

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	ftp "goftp.io/server/v2"

	"example.com/share/internal/clientaddr"
	"example.com/share/internal/connlimit"
	"example.com/share/internal/transfers"
	"example.com/share/sharefs"
)

// DefaultIdle is how long a client may stay idle when Options say
// nothing (the command line shows it as --ftp-idle's default).
const DefaultIdle = 5 * time.Minute

// Defaults for zero Options.
const (
	defaultLoginTimeout  = 30 * time.Second
	defaultMaxConns      = 200
	defaultMaxConnsPerIP = 20
)

// Options configures a Server.
type Options struct {
	// PassiveLow and PassiveHigh bound the passive data ports; 0, 0 takes
	// any free port of the dynamic range, 49152-65535.
	PassiveLow, PassiveHigh int
	// PublicHost is the address announced in PASV replies; "" announces
	// the control connection's local address.
	PublicHost string
	// IdleTimeout drops clients that send no command for this long; 0
	// means 5 minutes.
	IdleTimeout time.Duration
	// LoginTimeout drops clients that have not logged in this long after
	// connecting, whatever they send meanwhile; 0 means 30 seconds.
	LoginTimeout time.Duration
	// MaxConns and MaxConnsPerIP cap the control connections in total and
	// per client address (connlimit: an IPv6 /64 together gets
	// connlimit.NetworkFactor times MaxConnsPerIP); 0 means 200 and 20.
	MaxConns, MaxConnsPerIP int
	// Logger receives logins, transfers and refusals; nil discards.
	Logger *slog.Logger
	// TLS, when set, requires explicit FTPS (AUTH TLS, PROT P) with it.
	TLS *tls.Config
	// Secret, when set, turns anonymous login off: any user logs in with
	// Secret as password.
	Secret string
	// Signer answers FILE.sig with the card's signature; nil turns it off.
	Signer Signer
	// Transfers, when set, is told of every download as it goes (the
	// sharer's live view).
	Transfers *transfers.Board
}

// Server is an anonymous read-only FTP server over a sharefs.View.
type Server struct {
	view      sharefs.View
	low       int
	high      int
	public    netip.Addr // IPv4 to announce in PASV, if set
	idle      time.Duration
	loginWait time.Duration
	pasvWait  time.Duration      // how long a passive port waits for the client
	stall     time.Duration      // how long a data connection may make no progress
	replyWait time.Duration      // how long one write of a reply may make no progress
	caps      *connlimit.Limiter // control connections, in total and per client
	pasvQuota int                // waiting passive listeners allowed per client address
	listSlots chan struct{}      // one token per listing being built
	listWait  time.Duration      // how long a listing waits for a slot
	log       *slog.Logger
	commands  map[string]ftp.Command
	signer    Signer
	tls       *tls.Config   // explicit FTPS required, if set
	secret    string        // the password, if set; anonymous otherwise
	guard     *loginGuard   // failed logins with the secret
	failDelay time.Duration // how long a wrong password waits for its 530
	tlsWait   time.Duration // how long a TLS handshake may take
	transfers *transfers.Board

	nextID atomic.Uint64

	mu             sync.Mutex
	closing        bool
	listeners      map[net.Listener]struct{}
	conns          map[*ctrlConn]func() // each with what gives its place back
	pasvOpen       map[netip.Addr]int   // waiting passive listeners per clientKey
	listTurns      map[netip.Addr]*listTurn
	listHeld       map[*sharefs.Entry]*heldListing // listings being sent, by first entry
	listHeldBy     map[netip.Addr]int64            // their bytes per clientKey
	listHeldAll    int64                           // their bytes in all
	listMem        int64                           // bound on listHeldAll
	listMemPerAddr int64                           // bound on each of listHeldBy
}

// New checks the options and returns a Server for view.
func New(view sharefs.View, opts Options) (*Server, error) {
	if view == nil {
		return nil, errors.New("ftp server: no folder view")
	}
	s := &Server{
		view:           view,
		idle:           orDefault(opts.IdleTimeout, DefaultIdle),
		loginWait:      orDefault(opts.LoginTimeout, defaultLoginTimeout),
		pasvWait:       pasvTimeout,
		stall:          max(orDefault(opts.IdleTimeout, DefaultIdle), minStall),
		replyWait:      writeTimeout,
		caps:           connlimit.New(orDefault(opts.MaxConns, defaultMaxConns), orDefault(opts.MaxConnsPerIP, defaultMaxConnsPerIP)),
		log:            opts.Logger,
		signer:         opts.Signer,
		tls:            opts.TLS,
		secret:         opts.Secret,
		guard:          newLoginGuard(),
		failDelay:      failDelay,
		tlsWait:        tlsHandshakeTimeout,
		transfers:      opts.Transfers,
		listeners:      map[net.Listener]struct{}{},
		conns:          map[*ctrlConn]func(){},
		pasvOpen:       map[netip.Addr]int{},
		listTurns:      map[netip.Addr]*listTurn{},
		listHeld:       map[*sharefs.Entry]*heldListing{},
		listHeldBy:     map[netip.Addr]int64{},
		listMem:        defaultListMem,
		listMemPerAddr: defaultListMemPerAddr,
		listSlots:      make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		listWait:       listingWait,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := s.setPorts(opts.PassiveLow, opts.PassiveHigh); err != nil {
		return nil, err
	}
	s.pasvQuota = passiveQuota(s.low, s.high)
	if err := s.setPublicHost(opts.PublicHost); err != nil {
		return nil, err
	}
	s.commands = commandTable(s)
	return s, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (s *Server) setPorts(low, high int) error {
	if low == 0 && high == 0 {
		return nil
	}
	if low < 1 || high > 65535 || low > high {
		return fmt.Errorf("ftp passive ports %d-%d: want 1 <= LOW <= HIGH <= 65535", low, high)
	}
	s.low, s.high = low, high
	return nil
}

// setPublicHost resolves the PASV address once, so a bad name fails at
// start-up rather than in every PASV reply.
func (s *Server) setPublicHost(host string) error {
	if host == "" {
		return nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("ftp public host %q: not an IPv4 address or a name with one: %w", host, err)
	}
	s.public = ips[0].Unmap()
	return nil
}

// Serve answers FTP clients on ln until Shutdown, then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return nil
	}
	defer s.untrack(ln)
	srv, err := ftp.NewServer(&ftp.Options{
		Commands:       s.commands,
		Driver:         &driver{view: s.view},
		Auth:           anonymousAuth{s},
		Perm:           ftp.NewSimplePerm("ftp", "ftp"),
		Name:           "share",
		WelcomeMessage: s.welcome(),
		Logger:         goftpLogger{s.log},
	})
	if err != nil {
		return fmt.Errorf("ftp server: %w", err)
	}
	err = srv.Serve(&capListener{Listener: ln, srv: s})
	if s.isClosing() {
		return nil
	}
	return fmt.Errorf("ftp server on %s: %w", ln.Addr(), err)
}

// Shutdown stops accepting, closes idle sessions at once and sessions with
// a transfer when it ends, or all of them when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.closeAll()
			return fmt.Errorf("ftp shutdown: transfers cut short: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// closeIdle closes sessions without a running transfer and returns how
// many sessions remain.
func (s *Server) closeIdle() int {
	for _, c := range s.snapshot() {
		if !c.isBusy() {
			c.goodbye("Server shutting down; goodbye.")
		}
	}
	return len(s.snapshot())
}

func (s *Server) closeAll() {
	for _, c := range s.snapshot() {
		c.goodbye("Server shutting down; transfer cut short.")
	}
}

func (s *Server) snapshot() []*ctrlConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*ctrlConn, 0, len(s.conns))
	for c := range s.conns {
		list = append(list, c)
	}
	return list
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
}

// admit registers a new control connection, or returns why the caps
// refuse it.
func (s *Server) admit(c *ctrlConn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return "Server shutting down."
	}
	release, err := s.caps.Take(c.peer)
	if err != nil {
		return err.Error()
	}
	s.conns[c] = release
	return ""
}

// forget releases the place of a closed control connection.
func (s *Server) forget(c *ctrlConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if release, ok := s.conns[c]; ok {
		delete(s.conns, c)
		release()
	}
}

// clientKey is what the per-client caps count.
func clientKey(ip netip.Addr) netip.Addr { return clientaddr.Key(ip) }

// capListener hands goftp only admitted connections; it answers the
// others with 421 itself.
type capListener struct {
	net.Listener
	srv *Server
}

// Accept implements net.Listener.
func (l *capListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if l.srv.isClosing() || !isTemporary(err) {
				return nil, err
			}
			// Out of file descriptors and the like: wait, do not spin.
			l.srv.log.Warn("ftp accept failed; retrying", "err", err, "retry_in_ms", backoff.Milliseconds())
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if c := l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit wraps and registers nc, or refuses it.
func (l *capListener) admit(nc net.Conn) *ctrlConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil
	}
	c := newCtrlConn(tc, l.srv, l.srv.nextID.Add(1))
	if why := l.srv.admit(c); why != "" {
		l.srv.log.Warn("ftp connection refused", "client", c.peer, "reason", why)
		_ = tc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = fmt.Fprintf(tc, "421 %s\r\n", why)
		tc.Close()
		return nil
	}
	l.srv.log.Debug("ftp connection", "conn", c.id, "client", c.peer)
	return c
}

func isTemporary(err error) bool {
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}
