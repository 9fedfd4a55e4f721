package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// normalizeAddr accepts "host:port", ":port" and a bare "port".
func normalizeAddr(addr string) string {
	if addr != "" && strings.Trim(addr, "0123456789") == "" {
		return ":" + addr
	}
	return addr
}

// listen opens a TCP listener with an error a person can act on.
func listen(proto, flag, addr string) (net.Listener, error) {
	addr = normalizeAddr(addr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usagef("%s %q is not an address; use host:port, :port or port", flag, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot serve %s on %s: the port is in use by another program; pick another with %s (port 0 picks a free one)", proto, addr, flag)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("cannot serve %s on %s: that address is not on this machine; use one of its addresses, or :PORT for all of them", proto, addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot serve %s on %s: ports below 1024 need root; pick a port of 1024 or more with %s", proto, addr, flag)
	}
	return nil, fmt.Errorf("cannot serve %s on %s: %w", proto, addr, err)
}
