package discovery

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// shareMDNSPort lets the socket share port 5353 with Windows' own mDNS
// responder (the DNS Client service), which allows SO_REUSEADDR sharing.
func shareMDNSPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
