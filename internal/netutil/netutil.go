// Package netutil holds the socket decisions that differ per operating
// system, so that the servers and the command line import no syscall
// package: which errors mean "address in use" or "not this machine's
// address", and the socket options the FTP control connection needs.
package netutil

import (
	"errors"
	"net"
)

// AddrInUse reports whether a listen failed because another socket holds
// the address. On Windows this includes WSAEACCES: a port in a range the
// system reserved, or held with SO_EXCLUSIVEADDRUSE, is just as taken.
func AddrInUse(err error) bool { return isOneOf(err, addrInUse) }

// AddrNotAvailable reports whether a listen failed because the address is
// not one of this machine's.
func AddrNotAvailable(err error) bool { return isOneOf(err, addrNotAvailable) }

// SetOOBInline keeps TCP urgent data in the stream. Some FTP clients send
// ABOR as urgent data; without it the system takes the last byte out of
// the command line.
func SetOOBInline(c *net.TCPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = setOOBInline(fd) }); err != nil {
		return err
	}
	return serr
}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
