package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"example.com/share/internal/netutil"
)

// normalizeAddr accepts "host:port", ":port" and a bare "port".
func normalizeAddr(addr string) string {
	if addr != "" && strings.Trim(addr, "0123456789") == "" {
		return ":" + addr
	}
	return addr
}

// splitAddr checks a listen address given with flag and returns its host
// and port.
func splitAddr(flag, addr string) (host string, port int, err error) {
	addr = normalizeAddr(addr)
	host, p, err := net.SplitHostPort(addr)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil || port < 0 || port > 65535 {
		return "", 0, usagef("%s %q is not an address; use host:port, :port or port, with a port from 0 to 65535%s", flag, addr, bracketHint(addr))
	}
	return host, port, nil
}

// bracketHint suggests brackets for an IPv6 address written with its
// port after a bare colon ("::1:8000").
func bracketHint(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i <= 0 || strings.HasPrefix(addr, "[") {
		return ""
	}
	if ip, err := netip.ParseAddr(addr[:i]); err == nil && ip.Is6() {
		return fmt.Sprintf(" (an IPv6 address goes in brackets: [%s]:%s)", addr[:i], addr[i+1:])
	}
	return ""
}

// samePort reports whether two listen addresses would claim the same port.
func samePort(a, b string) bool {
	ha, pa, errA := splitAddr("", a)
	hb, pb, errB := splitAddr("", b)
	if errA != nil || errB != nil || pa == 0 || pa != pb {
		return false
	}
	return ha == hb || isAny(ha) || isAny(hb)
}

func isAny(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

// listen opens a TCP listener with an error a person can act on.
func listen(proto, flag, addr string) (net.Listener, error) {
	if _, _, err := splitAddr(flag, addr); err != nil {
		return nil, err
	}
	addr = normalizeAddr(addr)
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case netutil.AddrInUse(err):
		return nil, fmt.Errorf("cannot serve %s on %s: the port is in use by another program; pick another with %s (port 0 picks a free one)", proto, addr, flag)
	case netutil.AddrNotAvailable(err):
		return nil, fmt.Errorf("cannot serve %s on %s: that address is not on this machine; use one of its addresses, or :PORT for all of them", proto, addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot serve %s on %s: ports below 1024 need root; pick a port of 1024 or more with %s", proto, addr, flag)
	}
	return nil, fmt.Errorf("cannot serve %s on %s: %w", proto, addr, err)
}
