package netutil

import (
	"syscall"
	"unsafe"
)

const pollOut = 0x4

// CanTellRoom: SendRoom tells the room in a socket's send buffer here.
const CanTellRoom = true

// SendRoom waits until the socket can take more bytes without blocking,
// within its write deadline (the wait fails with os.ErrDeadlineExceeded
// past it), and returns about how many: the free part of its send
// buffer.
// A caller that hands the socket no more than that seldom blocks inside
// the write itself, where a buffer of its own may be held.
func SendRoom(raw syscall.RawConn) (int, error) {
	room := 0
	err := raw.Write(func(fd uintptr) bool {
		revents, errno := pollNow(fd, pollOut)
		if errno != 0 {
			return true // no room known: the write that follows finds out
		}
		if revents == 0 {
			// Not writable now: poll has asked the kernel to say when it
			// is, and the runtime waits for that.
			return false
		}
		if revents&(pollErr|pollHup) != 0 {
			return true // the write that follows reports it
		}
		room = sendRoom(int(fd))
		return true
	})
	return room, err
}

// sendRoom is the free part of the send buffer, as the kernel counts
// it (SO_MEMINFO: its size less what is queued, overhead included),
// less an eighth for the overhead of what is still to come; at least 1.
func sendRoom(fd int) int {
	var info [skMeminfoVars]uint32
	size := uint32(len(info) * 4)
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, soMeminfo,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 || size < (skMeminfoWmemQueued+1)*4 {
		return 0
	}
	free := int(info[skMeminfoSndbuf]) - int(info[skMeminfoWmemQueued])
	return max(free-free/8, 1)
}

// SO_MEMINFO and the fields of its answer (linux/sock_diag.h).
const (
	soMeminfo           = 55
	skMeminfoVars       = 9
	skMeminfoSndbuf     = 3
	skMeminfoWmemQueued = 5
)

// pollNow polls fd for events without waiting, again when interrupted,
// and returns the events that hold.
func pollNow(fd uintptr, events int16) (int16, syscall.Errno) {
	p := pollFd{fd: int32(fd), events: events}
	var zero syscall.Timespec
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		if errno != syscall.EINTR {
			return p.revents, errno
		}
	}
}
