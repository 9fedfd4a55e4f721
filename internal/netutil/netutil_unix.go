//go:build unix

package netutil

import "syscall"

var (
	addrInUse        = []error{syscall.EADDRINUSE}
	addrNotAvailable = []error{syscall.EADDRNOTAVAIL}
)

func setOOBInline(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
}
