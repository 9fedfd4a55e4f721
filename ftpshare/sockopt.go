package ftpshare

import (
	"net"
	"syscall"
)

// setOOBInline keeps urgent data in the stream. Some clients send ABOR as
// urgent data; without this the kernel would take its last byte out of
// the command line.
func setOOBInline(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
	})
}
