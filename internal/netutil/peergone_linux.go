package netutil

import "syscall"

// CanSeePeerGone: Linux reports a peer's FIN even with unread bytes
// before it (POLLRDHUP).
const CanSeePeerGone = true

// pollFd is struct pollfd.
type pollFd struct {
	fd              int32
	events, revents int16
}

// poll(2) bits.
const (
	pollErr   = 0x8
	pollHup   = 0x10
	pollRdHup = 0x2000
)

// PeerGone polls the socket, without waiting and without reading: the
// peer shut its side down, or the connection was reset.
func PeerGone(raw syscall.RawConn) bool {
	gone := false
	_ = raw.Control(func(fd uintptr) {
		revents, errno := pollNow(fd, pollRdHup)
		gone = errno == 0 && revents&(pollRdHup|pollHup|pollErr) != 0
	})
	return gone
}
