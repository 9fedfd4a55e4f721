package netutil

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// wrapped hides the socket the way crypto/tls and the servers' own
// wrappers do; Cork looks through NetConn.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// TestCorkHoldsPartialSegments: through a wrapper, a corked loopback
// connection holds a few bytes back unsent (the system would wait up to
// 200 ms for more), and uncorking sends them at once.
func TestCorkHoldsPartialSegments(t *testing.T) {
	client, server := loopbackPair(t)

	uncork := Cork(wrapped{server})
	if _, err := server.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if n := unsent(t, server); n != 4 {
		t.Fatalf("corked: %d bytes not sent yet, want 4", n)
	}
	uncork()
	if n := unsent(t, server); n != 0 {
		t.Fatalf("uncorked: %d bytes not sent yet, want 0", n)
	}
	buf := make([]byte, 4)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "held" {
		t.Fatalf("after uncork: %q, %v", buf, err)
	}
}

// unsent is how many bytes c's socket holds that it has not sent yet
// (SIOCOUTQNSD): exact, where a timed read would only guess.
func unsent(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	const siocOutQNSD = 0x894B
	var n int32
	var errno syscall.Errno
	_ = raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, siocOutQNSD, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	return int(n)
}

// TestCorkWithoutSocket: a connection with no socket underneath is left
// alone.
func TestCorkWithoutSocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	Cork(wrapped{a})() // neither call may fail or block
}
