package httpshare

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"example.com/share/internal/clientaddr"
	"example.com/share/internal/connlimit"
)

// Connection caps: enough for every browser (six connections a host) and
// download manager on a LAN, few enough that one client cannot use up the
// file descriptors everyone else needs.
const (
	maxConns          = 1024
	maxConnsPerClient = 64
)

// limitListener hands the server only the connections its Limiter
// admits; one over a cap gets a 503 naming the cap and is closed.
type limitListener struct {
	net.Listener
	caps *connlimit.Limiter
}

func newLimitListener(ln net.Listener, max, maxPer int) *limitListener {
	return &limitListener{Listener: ln, caps: connlimit.New(max, maxPer)}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, err := l.caps.Take(clientaddr.Of(c.RemoteAddr()))
		if err == nil {
			return &limitedConn{Conn: c, release: release}, nil
		}
		refuse(c, err.Error())
	}
}

// String reports the connections held, for tests and logs.
func (l *limitListener) String() string { return l.caps.String() }

// refuse answers a connection over the cap without reading its request,
// off the accept loop, and closes it.
func refuse(c net.Conn, why string) {
	go func() {
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"Retry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n", len(why)+1, why)
	}()
}

// limitedConn gives its place back when closed.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// ReadFrom keeps the kernel's zero-copy path (sendfile) of the TCP
// connection underneath.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite lets net/http half-close the connection as it does on a
// bare TCP connection.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn gives the socket underneath, to look at its state.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
