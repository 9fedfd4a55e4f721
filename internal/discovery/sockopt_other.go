//go:build !linux

package discovery

import "syscall"

// shareMDNSPort leaves the socket as it is: sharing port 5353 with another
// responder is only arranged on Linux.
func shareMDNSPort(_, _ string, _ syscall.RawConn) error { return nil }
