package testutil

import "syscall"

// setReceiveBuffer sets a socket's receive buffer (in a Dialer's
// Control, before it connects), so a server writing to it blocks soon.
func setReceiveBuffer(fd uintptr, n int) {
	_ = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
