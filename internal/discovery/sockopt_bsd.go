//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package discovery

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// shareMDNSPort lets the socket share port 5353 with the system's own
// mDNS responder (mDNSResponder on macOS, avahi or mdnsd on the BSDs),
// which binds it with SO_REUSEPORT too.
func shareMDNSPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
