package httpshare

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// net/http writes a response through a 4 KiB buffer, so a response of a
// few kilobytes leaves in two writes (the header with the first part of
// the body, then the rest): two TCP segments, two wake-ups of the client
// and twice the kernel's send path, which is most of the cost of serving
// a small file. A handler that has a small response in memory asks the
// connection to hold its writes (holdResponse); they are then sent in one
// write when net/http is done with the response: when the connection
// turns idle, is hijacked or closes.

// heldListener wraps accepted connections in heldConn.
type heldListener struct{ net.Listener }

func (l heldListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &heldConn{Conn: c}, nil
}

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
			_ = c.Conn.SetWriteDeadline(time.Now().Add(heldCloseTimeout))
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
