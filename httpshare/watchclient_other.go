//go:build !linux

package httpshare

import "syscall"

// canSeeClientGone: elsewhere a folder job notices its client gone when
// a write fails or net/http cancels the request.
const canSeeClientGone = false

func clientGone(syscall.RawConn) bool { return false }
