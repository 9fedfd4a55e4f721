//go:build !linux

package netutil

import "syscall"

// CanTellRoom: SendRoom cannot tell here.
const CanTellRoom = false

// SendRoom cannot tell here: it returns 0 at once.
func SendRoom(syscall.RawConn) (int, error) { return 0, nil }
