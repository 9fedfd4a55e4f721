package httpshare

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"example.com/share/internal/netutil"
)

// net/http writes a response through a 4 KiB buffer, so a response of a
// few kilobytes leaves in two writes (the header with the first part of
// the body, then the rest): two TCP segments, two wake-ups of the client
// and twice the kernel's send path, which is most of the cost of serving
// a small file. A handler that has a small response in memory asks the
// connection to hold its writes (holdResponse); they are then sent in one
// write when net/http is done with the response: when the connection
// turns idle, is hijacked or closes.

// The same connection wrapper also guards what every connection may
// cost: each request's header is counted (headerGuard) and every write
// has a progress deadline (renew).

// heldListener wraps accepted connections in heldConn, whose writes may
// each make no progress for at most stall.
type heldListener struct {
	net.Listener
	stall        time.Duration
	countHeaders bool // the connections carry plain HTTP/1, not TLS records
}

func (l heldListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &heldConn{Conn: c, stall: l.stall, countHeaders: l.countHeaders}, nil
}

// writeStall is how long any write to a client may make no progress
// before the client is dropped: a client that stops reading, even
// between small pipelined responses, holds its connection no longer.
const writeStall = 2 * time.Minute

// heldMax bounds the bytes held back: the largest cached file and a
// roomy header. Anything more is written through at once.
const heldMax = smallFileMax + 16<<10

// heldCloseTimeout bounds the flush of held bytes by Close, which may be
// called by Server.Close while the client does not read.
const heldCloseTimeout = 2 * time.Second

var heldBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

// heldConn is a server connection that can hold back writes. The mutex
// guards buf only; it is never held during a write to the network.
type heldConn struct {
	net.Conn
	mu  sync.Mutex
	buf *[]byte // pooled; non-nil while holding

	stall    time.Duration
	deadline atomic.Int64 // the write deadline set, in Unix nanoseconds; 0 for none

	countHeaders bool
	head         headerGuard // used by Read only: net/http reads from one goroutine at a time
	closeAfter   atomic.Bool // headers are no longer counted: close after this response
}

// Read hands net/http what the client sent, its headers counted by the
// guard.
func (c *heldConn) Read(p []byte) (int, error) {
	if c.head.over {
		return copy(p, filler), nil // net/http reads it up to its own cap
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.countHeaders {
		n = c.head.scan(p, n)
		if c.head.stopped {
			c.closeAfter.Store(true)
		}
		if c.head.over {
			err = nil
		}
	}
	return n, err
}

// renew moves the write deadline stall ahead before a write, unless it
// already lies more than 7/8 of stall ahead: a write may thus take at
// most stall, and the deadline is set only every stall/8 or so.
func (c *heldConn) renew() {
	if c.stall <= 0 {
		return
	}
	now := time.Now()
	if d := c.deadline.Load(); d != 0 && now.Add(c.stall-c.stall/8).UnixNano() <= d {
		return
	}
	next := now.Add(c.stall)
	c.deadline.Store(next.UnixNano())
	_ = c.Conn.SetWriteDeadline(next)
}

// SetWriteDeadline sets the deadline for the writes to come.
func (c *heldConn) SetWriteDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the read and write deadlines.
func (c *heldConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *heldConn) noteDeadline(t time.Time) {
	if t.IsZero() {
		c.deadline.Store(0)
		return
	}
	c.deadline.Store(t.UnixNano())
}

// hold makes writes accumulate until release.
func (c *heldConn) hold() {
	c.mu.Lock()
	if c.buf == nil {
		c.buf = heldBufs.Get().(*[]byte)
	}
	c.mu.Unlock()
}

// take ends holding and returns what was held (nil if nothing was).
func (c *heldConn) take() *[]byte {
	c.mu.Lock()
	b := c.buf
	c.buf = nil
	c.mu.Unlock()
	return b
}

// send writes a taken buffer and returns it to the pool.
func (c *heldConn) send(b *[]byte) error {
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= heldMax {
		*b = (*b)[:0]
		heldBufs.Put(b)
	}
	return err
}

// release sends what was held. A failed write closes the connection, so
// net/http's next read fails and the connection ends.
func (c *heldConn) release() {
	if b := c.take(); b != nil {
		c.renew()
		if err := c.send(b); err != nil {
			_ = c.Conn.Close()
		}
	}
}

// Write holds p while holding and under the bound; otherwise it sends
// what was held, stops holding and writes p.
func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if b := c.buf; b != nil && len(*b)+len(p) <= heldMax {
		*b = append(*b, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	c.renew()
	if b := c.take(); b != nil {
		if err := c.send(b); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// ReadFrom sends what was held, then lets the network connection read
// src itself: net/http finds this method and a file goes out with
// sendfile.
func (c *heldConn) ReadFrom(src io.Reader) (int64, error) {
	c.renew()
	if b := c.take(); b != nil {
		if err := c.send(b); err != nil {
			return 0, err
		}
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{c.Conn}, src)
}

// CloseWrite sends what was held, then shuts the write side down.
func (c *heldConn) CloseWrite() error {
	if b := c.take(); b != nil {
		c.renew()
		if err := c.send(b); err != nil {
			return err
		}
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close sends what was held, within heldCloseTimeout, then closes.
func (c *heldConn) Close() error {
	if b := c.take(); b != nil {
		if len(*b) > 0 {
			_ = c.SetWriteDeadline(time.Now().Add(heldCloseTimeout))
		}
		_ = c.send(b)
	}
	return c.Conn.Close()
}

// connState is the http.Server's ConnState hook: once a response is done
// (the connection is idle, hijacked or closed), held writes go out.
func connState(c net.Conn, st http.ConnState) {
	if hc, ok := heldOf(c); ok && st != http.StateNew && st != http.StateActive {
		hc.release()
	}
}

type heldConnKey struct{}

// connContext is the http.Server's ConnContext hook: it lets handlers
// find their connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := heldOf(c); ok {
		return context.WithValue(ctx, heldConnKey{}, hc)
	}
	return ctx
}

// corkResponse holds partial segments back while r's response goes out
// in pieces (netutil.Cork) and returns what sends the rest. HTTP/1 only:
// an HTTP/2 connection carries other streams' small frames, which must
// not wait for a download's segments to fill.
func corkResponse(r *http.Request) (uncork func()) {
	if hc, ok := r.Context().Value(heldConnKey{}).(*heldConn); ok && r.ProtoMajor == 1 {
		return netutil.Cork(hc.Conn)
	}
	return func() {}
}

// holdResponse makes the rest of r's response go out in one write, if
// the connection allows it. Only for a response that is in memory and
// small: nothing is sent until net/http has finished the response.
func holdResponse(r *http.Request) {
	if r.ProtoMajor != 1 {
		return
	}
	if hc, ok := r.Context().Value(heldConnKey{}).(*heldConn); ok {
		hc.hold()
	}
}
