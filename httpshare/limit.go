package httpshare

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"example.com/share/internal/clientaddr"
)

// Connection caps: enough for every browser (six connections a host) and
// download manager on a LAN, few enough that one client cannot use up the
// file descriptors everyone else needs.
const (
	maxConns          = 1024
	maxConnsPerClient = 64
)

// limitListener accepts at most max connections, and maxPer per client
// (clientaddr.Key). One over the cap gets a 503 and is closed.
type limitListener struct {
	net.Listener
	max, maxPer int

	mu    sync.Mutex
	total int
	per   map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, maxPer int) *limitListener {
	return &limitListener{Listener: ln, max: max, maxPer: maxPer, per: map[netip.Addr]int{}}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientaddr.Of(c.RemoteAddr())
		if l.take(key) {
			return &limitedConn{Conn: c, release: sync.OnceFunc(func() { l.give(key) })}, nil
		}
		refuse(c)
	}
}

func (l *limitListener) take(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || l.per[key] >= l.maxPer {
		return false
	}
	l.total++
	l.per[key]++
	return true
}

func (l *limitListener) give(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.per[key]--; l.per[key] <= 0 {
		delete(l.per, key)
	}
}

// String reports the connections held, for tests and logs.
func (l *limitListener) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d/%d connections", l.total, l.max)
}

// refuse answers a connection over the cap without reading its request,
// off the accept loop, and closes it.
func refuse(c net.Conn) {
	go func() {
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"+
			"Retry-After: 5\r\nConnection: close\r\nContent-Length: 43\r\n\r\nToo many connections; try again in a while\n")
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
