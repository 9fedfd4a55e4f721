package httpshare

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// canSeeClientGone: Linux reports a peer's FIN even with unread bytes
// before it (POLLRDHUP).
const canSeeClientGone = true

// clientGone polls the socket, without waiting and without reading:
// the peer shut its side down, or the connection was reset.
func clientGone(raw syscall.RawConn) bool {
	gone := false
	_ = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, err := unix.Poll(fds, 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
	})
	return gone
}
