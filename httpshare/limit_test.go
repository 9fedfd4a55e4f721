package httpshare

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLimitListener checks the caps with real connections from two
// loopback addresses: over a cap a client gets a 503, and a closed
// connection gives its place back.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(inner, 3, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	expectAccepted := func(what string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: not accepted", what)
			return nil
		}
	}
	expectRefused := func(c net.Conn, what string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: %v %v; want a 503", what, resp, err)
		}
		select {
		case <-accepted:
			t.Fatalf("%s: handed to the server over the cap", what)
		default:
		}
	}
	dial("127.0.0.1")
	first := expectAccepted("first from 127.0.0.1")
	dial("127.0.0.1")
	expectAccepted("second from 127.0.0.1")
	expectRefused(dial("127.0.0.1"), "third from 127.0.0.1")
	dial("127.0.0.2")
	expectAccepted("first from 127.0.0.2")
	expectRefused(dial("127.0.0.3"), "over the total")
	first.Close()
	dial("127.0.0.1")
	expectAccepted("127.0.0.1 after a close")
	first.Close() // a second Close gives nothing back twice
	c := dial("127.0.0.4")
	expectRefused(c, "over the total after a double close")
	if !strings.Contains(ln.String(), "3/3") {
		t.Errorf("counts = %s", ln.String())
	}
}
