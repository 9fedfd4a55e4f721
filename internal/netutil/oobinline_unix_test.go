//go:build unix

package netutil

import (
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSetOOBInline: a byte sent as TCP urgent data stays in the stream
// with the option, and is taken out of it without (the control).
func TestSetOOBInline(t *testing.T) {
	for _, inline := range []bool{true, false} {
		got := sendWithUrgentByte(t, inline)
		want := "abd"
		if inline {
			want = "abcd"
		}
		if got != want {
			t.Errorf("OOB inline %v: read %q, want %q", inline, got, want)
		}
	}
}

// sendWithUrgentByte sends "ab", then "c" as urgent data, then "d", over
// loopback and returns what the receiver reads.
func sendWithUrgentByte(t *testing.T, inline bool) string {
	t.Helper()
	client, server := loopbackPair(t)
	if inline {
		if err := SetOOBInline(server); err != nil {
			t.Fatalf("SetOOBInline: %v", err)
		}
	}
	send(t, client, "ab", 0)
	send(t, client, "c", unix.MSG_OOB)
	send(t, client, "d", 0)
	client.Close()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, err := io.ReadAll(server)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

func send(t *testing.T, c *net.TCPConn, s string, flags int) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), []byte(s), flags, nil)
		return serr != unix.EAGAIN
	})
	if err != nil || serr != nil {
		t.Fatalf("send %q: %v %v", s, err, serr)
	}
}
