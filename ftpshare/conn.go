package ftpshare

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"example.com/share/internal/netutil"
	"example.com/share/sharefs"
)

// writeTimeout bounds one reply write, so a client that never reads
// replies cannot hold a session forever.
const writeTimeout = 30 * time.Second

// leaveTimeout bounds the goodbye reply at shutdown.
const leaveTimeout = 100 * time.Millisecond

// errIdle reports a client that sent no command for the idle time-out.
var errIdle = errors.New("idle time-out")

// errLoginTimeout reports a client that did not log in in time.
var errLoginTimeout = errors.New("login time-out")

// ctrlConn is the control connection handed to goftp. It hands over
// cleaned command lines one by one, bounds their length, drops idle
// clients with a reply, and watches for ABOR while a transfer runs.
type ctrlConn struct {
	raw   *net.TCPConn
	sec   atomic.Pointer[tls.Conn] // the TLS layer after AUTH TLS; deadlines stay on raw
	protP atomic.Bool              // PROT P: data connections are TLS
	srv   *Server
	id    uint64
	peer  netip.Addr // the client, without the IPv4-in-IPv6 prefix
	local netip.Addr // our address on this connection
	state *session   // per-session data-connection state
	// refusals counts refused commands, for logRefusal's budget.
	refusals atomic.Int32

	wmu       sync.Mutex // serialises writes of whole replies
	capturing bool       // under wmu: goftp's replies are held back by relay
	captured  []byte     // under wmu: what goftp wrote while capturing

	mu       sync.Mutex
	lines    lineBuffer
	out      []byte    // a cleaned line not yet read by the session
	readErr  error     // a read error seen by the ABOR watcher
	deadline time.Time // when the command being read times out
	busy     bool      // a transfer runs

	// loginBy is when a client that has not logged in is dropped, however
	// many commands it sends: until then it holds a place under the caps
	// without having shown that it means to use the server.
	loginBy  time.Time
	loggedIn atomic.Bool

	leaving   atomic.Bool // the server shuts down: write with a short deadline
	gone      atomic.Bool // a reply could not be written: the client left
	closeOnce sync.Once
	done      chan struct{}
}

// peerAddr is the RemoteAddr of a ctrlConn. goftp's Session only exposes
// RemoteAddr, so commands find their connection through it.
type peerAddr struct {
	net.Addr
	conn *ctrlConn
}

func newCtrlConn(raw *net.TCPConn, srv *Server, id uint64) *ctrlConn {
	c := &ctrlConn{
		raw:     raw,
		srv:     srv,
		id:      id,
		peer:    addrOf(raw.RemoteAddr()),
		local:   addrOf(raw.LocalAddr()),
		loginBy: time.Now().Add(srv.loginWait),
		done:    make(chan struct{}),
	}
	c.state = &session{conn: c}
	// Python's ftplib sends ABOR as urgent data; keep it in the stream.
	_ = netutil.SetOOBInline(raw) // best effort: most clients send ABOR in band
	return c
}

// addrOf returns the IP of a TCP address, unmapped from IPv4-in-IPv6.
func addrOf(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	return ip.Unmap()
}

// RemoteAddr implements net.Conn, carrying the connection along.
func (c *ctrlConn) RemoteAddr() net.Addr { return peerAddr{Addr: c.raw.RemoteAddr(), conn: c} }

// LocalAddr implements net.Conn.
func (c *ctrlConn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// SetDeadline implements net.Conn; the connection manages its own.
func (c *ctrlConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.Conn; the connection manages its own.
func (c *ctrlConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.Conn; the connection manages its own.
func (c *ctrlConn) SetWriteDeadline(time.Time) error { return nil }

// Read hands the session one cleaned command line at a time. It fails,
// after telling the client why, when the line is too long or the client
// stays idle too long.
func (c *ctrlConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			c.mu.Unlock()
			return n, nil
		}
		if c.gone.Load() {
			c.lines = lineBuffer{}
			c.mu.Unlock()
			return 0, errClientLeft
		}
		line, ok, err := c.lines.next()
		if ok && c.readErr == nil && !c.hasLeft() {
			c.out = append([]byte(line), '\r', '\n')
			c.mu.Unlock()
			c.logUnknown(line) // the log's write is not made under c.mu
			continue
		}
		if ok {
			// Lines the client queued before it left are dropped: nothing
			// runs for a client that is gone.
			c.lines = lineBuffer{}
			err = c.readErr
			if err == nil {
				err = errClientLeft
			}
		}
		if err == nil && c.readErr != nil {
			err = c.readErr
		}
		if !c.lines.pending() {
			// A new command starts: the idle clock starts again.
			c.deadline = time.Now().Add(c.srv.idle)
		}
		deadline := c.deadline
		c.mu.Unlock()
		if err != nil {
			return 0, c.fail(err)
		}
		loginLimit := !c.loggedIn.Load() && c.loginBy.Before(deadline)
		if loginLimit {
			deadline = c.loginBy
		}
		if err := c.fill(deadline); err != nil {
			if loginLimit && errors.Is(err, errIdle) {
				err = errLoginTimeout
			}
			return 0, c.fail(err)
		}
	}
}

// logUnknown logs a command this server does not know, which goftp
// answers with 500, as HTTP logs an unknown method's 405. The command
// is cut short: it is whatever the client sent.
func (c *ctrlConn) logUnknown(line string) {
	cmd, _, _ := strings.Cut(line, " ")
	cmd = strings.ToUpper(cmd)
	if c.srv.commands[cmd] != nil {
		return
	}
	if len(cmd) > maxUnknownCmd {
		cmd = cmd[:maxUnknownCmd] + "…"
	}
	c.srv.logRefusal(c.state, cmd, "", 500, time.Now())
}

// maxUnknownCmd is how much of an unknown command is logged; FTP's are
// four letters.
const maxUnknownCmd = 16

// errClientLeft reports a client that left with command lines queued.
var errClientLeft = errors.New("client left")

// hasLeft reports whether the client has gone: a reply could not be
// written, or it closed or reset the connection. A client that closed
// only its sending side counts as gone too, as during a transfer: what it
// queued is not run. It does not wait.
func (c *ctrlConn) hasLeft() bool {
	if c.gone.Load() {
		return true
	}
	rc, err := c.raw.SyscallConn()
	if err != nil {
		return false
	}
	// A past read deadline (the ABOR watcher's wake-up) would keep the
	// peek below from running.
	_ = c.raw.SetReadDeadline(time.Time{})
	left := netutil.PeerClosed(rc)
	if left {
		c.gone.Store(true)
	}
	return left
}

// fill reads more bytes from the client until the deadline.
func (c *ctrlConn) fill(deadline time.Time) error {
	if err := c.raw.SetReadDeadline(deadline); err != nil {
		return err
	}
	var buf [4096]byte
	n, err := c.stream().Read(buf[:])
	c.mu.Lock()
	c.lines.feed(buf[:n])
	c.mu.Unlock()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return errIdle
	}
	return err
}

// fail tells the client why its connection ends, when it can be told.
func (c *ctrlConn) fail(err error) error {
	switch {
	case errors.Is(err, errLineTooLong):
		c.srv.log.Warn("ftp command line too long", "conn", c.id, "client", c.peer, "max", maxLine)
		c.reply(500, fmt.Sprintf("Command line too long (over %d bytes); closing connection.", maxLine))
	case errors.Is(err, errIdle):
		c.srv.log.Info("ftp client idle, dropped", "conn", c.id, "client", c.peer, "idle_ms", c.srv.idle.Milliseconds())
		c.reply(421, fmt.Sprintf("No command for %s; closing connection.", c.srv.idle))
	case errors.Is(err, errLoginTimeout):
		c.srv.log.Info("ftp client did not log in in time, dropped", "conn", c.id, "client", c.peer, "limit_ms", c.srv.loginWait.Milliseconds())
		c.reply(421, fmt.Sprintf("Not logged in within %s; closing connection.", c.srv.loginWait))
	}
	return err
}

// Write implements net.Conn for the replies goftp writes itself. Those can
// carry what the client sent (CWD echoes the path), so they are cleaned
// like this package's own: whole, when relay runs the command, else chunk
// by chunk (goftp's fixed messages).
func (c *ctrlConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	if c.capturing {
		c.captured = append(c.captured, p...)
		c.wmu.Unlock()
		return len(p), nil
	}
	c.wmu.Unlock()
	if _, err := c.send(cleanReplies(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// relay runs a goftp command and sends its replies once it is done,
// cleaned as a whole: goftp writes through a 4 KiB buffer, so a long
// reply would otherwise reach Write in pieces split anywhere. It returns
// the code of the first reply, 0 if there was none.
func (c *ctrlConn) relay(run func()) (code int) {
	c.wmu.Lock()
	c.capturing = true
	c.wmu.Unlock()
	defer func() { code = c.flushCaptured() }()
	run()
	return 0
}

// flushCaptured ends a capture of relay, sends what it held and returns
// the code of its first reply.
func (c *ctrlConn) flushCaptured() int {
	c.wmu.Lock()
	b := c.captured
	c.capturing, c.captured = false, nil
	c.wmu.Unlock()
	if len(b) == 0 {
		return 0
	}
	_, _ = c.send(cleanReplies(b))
	code, _ := strconv.Atoi(string(b[:min(3, len(b))]))
	return code
}

// send writes bytes that are whole, clean replies.
func (c *ctrlConn) send(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return replyWriter{c}.Write(p)
}

// replyWriter writes to the client with a progress deadline on each write.
// A write that fails marks the client gone: what it still has queued is
// not run.
type replyWriter struct{ c *ctrlConn }

func (w replyWriter) Write(p []byte) (int, error) {
	timeout := w.c.srv.replyWait
	if w.c.leaving.Load() {
		timeout = leaveTimeout
	}
	if err := w.c.raw.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		w.c.gone.Store(true)
		return 0, err
	}
	n, err := w.c.stream().Write(p)
	if err != nil {
		w.c.gone.Store(true)
	}
	return n, err
}

// reply writes one single-line reply.
func (c *ctrlConn) reply(code int, msg string) {
	_, _ = c.send(fmt.Appendf(nil, "%d %s\r\n", code, replyText(msg)))
}

// replyText makes text safe to put on a reply line. Replies echo names
// and arguments the client sent, which may hold a bare CR, NUL or other
// control characters: a CR would let a client forge a reply line of its
// own, and other control bytes upset clients and terminals. Each control
// character becomes "?", and bytes that are not UTF-8 become U+FFFD, as
// FEAT announces UTF8 and clients decode replies as such.
func replyText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// cleanReplies applies replyText to each CRLF-ended line of b.
func cleanReplies(b []byte) []byte {
	lines := strings.Split(string(b), "\r\n")
	for i, l := range lines {
		lines[i] = replyText(l)
	}
	return []byte(strings.Join(lines, "\r\n"))
}

// goodbye tells the client the server is leaving and closes the
// connection. It never waits long: a client that does not read its
// replies does not hold up a shutdown.
func (c *ctrlConn) goodbye(msg string) {
	c.leaving.Store(true)
	// Cuts short a reply the session may be blocked in.
	_ = c.raw.SetWriteDeadline(time.Now().Add(leaveTimeout))
	c.reply(421, msg)
	c.Close()
}

// replyLines writes a multi-line reply: first and last carry the code, the
// lines between begin with a space as RFC 2389 and 3659 ask.
func (c *ctrlConn) replyLines(code int, first string, lines []string, last string) {
	b := fmt.Appendf(nil, "%d-%s\r\n", code, replyText(first))
	for _, l := range lines {
		b = fmt.Appendf(b, " %s\r\n", replyText(l))
	}
	b = fmt.Appendf(b, "%d %s\r\n", code, replyText(last))
	_, _ = c.send(b)
}

// replyEntries writes a multi-line reply with one line per listable entry,
// rendered and written a few KiB at a time rather than built whole.
func (c *ctrlConn) replyEntries(code int, first string, entries []sharefs.Entry, render renderer, last string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	w := replyWriter{c}
	if _, err := fmt.Fprintf(w, "%d-%s\r\n", code, replyText(first)); err != nil {
		return
	}
	_, err := writeEntries(w, entries, replyLine(render))
	if err == nil {
		_, _ = fmt.Fprintf(w, "%d %s\r\n", code, replyText(last))
	}
}

// replyLine turns a listing renderer into one for the lines of a
// multi-line reply: a leading space, and no control characters in the
// name other than the line end.
func replyLine(render renderer) renderer {
	return func(b []byte, e sharefs.Entry) []byte {
		start := len(b)
		b = append(b, ' ')
		b = render(b, e)
		line := strings.TrimSuffix(string(b[start:]), "\r\n")
		return append(append(b[:start], replyText(line)...), "\r\n"...)
	}
}

// Close implements net.Conn. It also closes the session's data
// connections and frees its place under the connection caps.
func (c *ctrlConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.flushCaptured() // QUIT replies, then closes
		err = c.raw.Close()
		c.state.close()
		c.srv.forget(c)
		close(c.done)
		c.srv.log.Debug("ftp connection closed", "conn", c.id, "client", c.peer)
	})
	return err
}

// watch reads the control connection while a transfer runs, so that an
// ABOR (or the client leaving) can stop it. The bytes stay buffered for
// the session. The returned stop function ends the watch and reports
// whether the transfer was aborted.
func (c *ctrlConn) watch(abort func()) (stop func() bool) {
	_ = c.raw.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	aborted := false
	go func() {
		defer close(done)
		aborted = c.watchLoop(abort)
	}()
	return func() bool {
		_ = c.raw.SetReadDeadline(time.Now()) // wakes the watcher
		<-done
		c.mu.Lock()
		c.deadline = time.Now().Add(c.srv.idle)
		c.mu.Unlock()
		return aborted
	}
}

// watchLoop reads until an ABOR line, an error or a stop. It scans only
// the lines that arrived since the last look, and stops reading once
// maxBuffered bytes wait for the session: a client that floods the
// control connection during a transfer waits for it like any other.
func (c *ctrlConn) watchLoop(abort func()) bool {
	var buf [512]byte
	for {
		c.mu.Lock()
		room := c.lines.room()
		c.mu.Unlock()
		if room == 0 {
			return false
		}
		n, err := c.stream().Read(buf[:min(room, len(buf))])
		c.mu.Lock()
		c.lines.feed(buf[:n])
		gotAbort := c.lines.hasAbort()
		gone := err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
		if gone {
			c.readErr = err
		}
		c.mu.Unlock()
		if gotAbort || gone {
			abort()
			return true
		}
		if err != nil {
			return false
		}
	}
}

// setBusy marks a transfer from before its 150 reply to after its last
// reply, so that a shutdown lets it finish.
func (c *ctrlConn) setBusy(busy bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = busy
}

// isBusy reports whether a transfer runs.
func (c *ctrlConn) isBusy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}
