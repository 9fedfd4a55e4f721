// Package clientaddr decides what the servers count as one client when
// they cap connections and shares.
package clientaddr

import (
	"net"
	"net/netip"
)

// Key is what per-client caps count: the client's own address (IPv4, or
// IPv6 with any IPv4-mapped form unwrapped). Every IPv6 host of a LAN
// shares one /64, so counting per /64 would give all of them together one
// client's share; the /64 gets its own, higher cap instead (Network).
func Key(ip netip.Addr) netip.Addr {
	return ip.Unmap().WithZone("")
}

// Network is the /64 an IPv6 client address belongs to, which caps all
// the addresses one host can pick in it together; ok is false for IPv4,
// where the address itself is the whole client.
func Network(ip netip.Addr) (prefix netip.Prefix, ok bool) {
	ip = Key(ip)
	if !ip.Is6() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, 64).Masked(), true
}

// Of returns the Key of a connection's remote address, or the zero Addr
// when it is not an IP address.
func Of(addr net.Addr) netip.Addr {
	if t, ok := addr.(*net.TCPAddr); ok {
		return Key(t.AddrPort().Addr())
	}
	if addr == nil {
		return netip.Addr{}
	}
	return Parse(addr.String())
}

// Parse returns the Key of an "address:port" string such as
// http.Request.RemoteAddr, or the zero Addr when it is not one.
func Parse(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}
	}
	return Key(ap.Addr())
}
