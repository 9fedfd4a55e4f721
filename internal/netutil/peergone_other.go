//go:build !linux

package netutil

import "syscall"

// CanSeePeerGone: elsewhere a peer that left is noticed at the next
// failed write.
const CanSeePeerGone = false

// PeerGone cannot tell here.
func PeerGone(syscall.RawConn) bool { return false }
