package netutil

import (
	"syscall"

	"golang.org/x/sys/windows"
)

var (
	addrInUse        = []error{windows.WSAEADDRINUSE, windows.WSAEACCES}
	addrNotAvailable = []error{windows.WSAEADDRNOTAVAIL}
)

// soOOBInline is Winsock's SO_OOBINLINE (winsock2.h), which
// golang.org/x/sys/windows does not name.
const soOOBInline = 0x0100

func setOOBInline(fd uintptr) error {
	return windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soOOBInline, 1)
}

// PeerClosed cannot peek without waiting here: a client that left is
// noticed at the next failed read or write.
func PeerClosed(syscall.RawConn) bool { return false }
