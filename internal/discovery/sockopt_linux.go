package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// shareMDNSPort lets the socket share port 5353 with the system's own
// mDNS daemon (avahi), and keeps it to the groups it joined itself.
func shareMDNSPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range [][3]int{
			{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1},
			{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
			{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
		} {
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
