//go:build unix

package netutil

import "golang.org/x/sys/unix"

var (
	addrInUse        = []error{unix.EADDRINUSE}
	addrNotAvailable = []error{unix.EADDRNOTAVAIL}
)

func setOOBInline(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1)
}
