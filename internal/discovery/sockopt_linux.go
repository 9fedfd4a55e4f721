package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// shareMDNSPort lets the socket share port 5353 with the system's own
// mDNS daemon (avahi), and keeps it to the groups it joined itself rather
// than every group any socket of the machine joined.
func shareMDNSPort(network, _ string, c syscall.RawConn) error {
	opts := [][3]int{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
	}
	if network == "udp6" {
		opts[2] = [3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0}
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if serr = unix.SetsockoptInt(int(fd), o[0], o[1], o[2]); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
