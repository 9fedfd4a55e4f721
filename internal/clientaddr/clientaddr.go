// Package clientaddr decides what the servers count as one client when
// they cap connections.
package clientaddr

import (
	"net"
	"net/netip"
)

// Key is what per-client caps count: the IPv4 address, or the /64 network
// of an IPv6 address, since one IPv6 host is usually given a whole /64 and
// can pick a new address in it for every connection.
func Key(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}

// Of returns the Key of a connection's remote address, or the zero Addr
// when it is not an IP address.
func Of(addr net.Addr) netip.Addr {
	if t, ok := addr.(*net.TCPAddr); ok {
		return Key(t.AddrPort().Addr())
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return Key(ap.Addr())
}
