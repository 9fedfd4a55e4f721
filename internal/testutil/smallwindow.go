package testutil

import (
	"net"
	"syscall"
	"time"
)

// SmallWindow is a dialer from the loopback address from ("" for any)
// with a receive buffer of 4 KiB, so a server writing to what it dials
// blocks soon: the client that never reads.
func SmallWindow(from string) *net.Dialer {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { setReceiveBuffer(fd, 4096) })
		},
	}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return d
}
