//go:build unix

package netutil

import (
	"errors"
	"syscall"
)

var (
	addrInUse        = []error{syscall.EADDRINUSE}
	addrNotAvailable = []error{syscall.EADDRNOTAVAIL}
)

func setOOBInline(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
}

// PeerClosed peeks at the socket without waiting and without taking
// anything: the peer closed its sending side (or the connection broke).
// Bytes waiting to be read mean it has not.
func PeerClosed(raw syscall.RawConn) bool {
	closed := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		waiting := errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)
		closed = (err == nil && n == 0) || (err != nil && !waiting)
		return true // never wait for data
	})
	return closed
}
