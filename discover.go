package main

import (
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"example.com/share/internal/discovery"
)

// discoveryFlags are the options that help coworkers find the share.
func discoveryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "qr", Category: catDiscovery, Usage: "also draw a QR code of the first LAN URL in the terminal", EnvVars: envOf("qr")},
		&cli.BoolFlag{Name: "mdns", Category: catDiscovery, Usage: "announce _http._tcp and _ftp._tcp by multicast DNS on the listening interfaces", EnvVars: envOf("mdns")},
	}
}

// startDiscovery draws the QR code (--qr, after the banner, not with
// --quiet) and starts the mDNS announcement (--mdns). A failure of either
// is logged and the share goes on. stop withdraws the announcement; it is
// never nil.
func startDiscovery(c *cli.Context, dir string, services []service, logger *slog.Logger) (stop func()) {
	if c.Bool("qr") && !c.Bool("quiet") {
		if u := firstLANURL(services); u == "" {
			logger.Warn("no QR code: share is reachable from this machine only")
		} else if err := printQR(c.App.Writer, u); err != nil {
			logger.Warn("no QR code", "err", err)
		}
	}
	if !c.Bool("mdns") {
		return func() {}
	}
	if c.Bool("secret") {
		logger.Info("not announced by mDNS: with --secret the link is the secret")
		return func() {}
	}
	stop, err := announce(dir, services, logger)
	if err != nil {
		logger.Warn("not announced by mDNS; coworkers need the address", "err", err)
		return func() {}
	}
	return stop
}

// firstLANURL is the URL the QR code shows: the first non-loopback HTTP
// URL, or the first FTP one when HTTP is off.
func firstLANURL(services []service) string {
	for _, proto := range []string{"http", "ftp"} {
		for _, s := range services {
			if s.proto != proto {
				continue
			}
			if urls, local := serviceURLs(s.proto, s.ln.Addr()); !local && len(urls) > 0 {
				return s.private.links(s.proto, urls)[0]
			}
		}
	}
	return ""
}

// announce starts the mDNS announcement of the services, under the
// folder's name.
func announce(dir string, services []service, logger *slog.Logger) (stop func(), err error) {
	host, err := discovery.Hostname()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	var ds []discovery.Service
	for _, s := range services {
		ds = append(ds, discovery.Service{
			Type: "_" + s.proto + "._tcp",
			Addr: addrPort(s.ln.Addr()),
			TXT:  []string{"path=/"},
		})
	}
	stop, err = discovery.Announce(discovery.InstanceName(filepath.Base(abs), host), ds, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("announced by mDNS", "services", len(ds))
	return stop, nil
}

// addrPort is the address and port of a listener.
func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(strings.TrimSpace(a.String()))
	return ap
}
