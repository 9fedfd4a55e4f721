package netutil

import (
	"errors"
	"io/fs"
	"net"
	"testing"
)

// TestAddrInUse: a second listener on a taken loopback port is "in use",
// and other errors are not.
func TestAddrInUse(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		first, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Logf("no %s here: %v", host, err)
			continue
		}
		defer first.Close()
		_, err = net.Listen("tcp", first.Addr().String())
		if err == nil {
			t.Fatalf("%s: second listener on %s succeeded", host, first.Addr())
		}
		if !AddrInUse(err) || AddrNotAvailable(err) {
			t.Errorf("%s: %v: AddrInUse %v, AddrNotAvailable %v; want true, false", host, err, AddrInUse(err), AddrNotAvailable(err))
		}
	}
	for _, err := range []error{nil, errors.New("port in use"), fs.ErrPermission} {
		if AddrInUse(err) || AddrNotAvailable(err) {
			t.Errorf("%v counted as a socket error", err)
		}
	}
}

// loopbackPair is both ends of a new TCP connection on loopback, closed
// when the test ends.
func loopbackPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}
