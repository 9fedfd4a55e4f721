//go:build !linux

package netutil

// Elsewhere segments are pushed as Go hands them over (TCP_NOPUSH, the
// BSD cousin, differs per system in when it flushes).
const canCork = false

func setCork(uintptr, bool) {}
