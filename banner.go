package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// printBanner tells the person who started share what coworkers can type.
// recipients lists whom downloads are encrypted to.
func printBanner(w io.Writer, dir string, services []service, c *cli.Context, recipients []string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	fmt.Fprintf(w, "Sharing %s (read-only%s)\n", abs, bannerMode(c))
	for i, r := range recipients {
		label := "Encrypted to"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "  %-12s %s\n", label, r)
	}
	for _, s := range services {
		urls, local := serviceURLs(s.proto, s.ln.Addr())
		urls = s.private.links(s.proto, urls)
		label := strings.ToUpper(s.proto)
		for i, u := range urls {
			if i > 0 {
				label = ""
			}
			fmt.Fprintf(w, "  %-5s %s\n", label, u)
		}
		if local {
			fmt.Fprintf(w, "        (reachable from this machine only: %s)\n", localReason(s.ln.Addr()))
		}
		if s.proto == "ftp" {
			fmt.Fprintf(w, "        %s; passive ports %s\n", s.private.ftpLogin(), passiveText(c.String("passive-ports")))
		}
	}
	if len(services) > 0 {
		services[0].private.printPrivacy(w, c)
	}
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}

// localReason says why a listener is not reachable from the network.
func localReason(addr net.Addr) string {
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil && ap.Addr().IsLoopback() {
		return "it listens on a loopback address"
	}
	return "no network address found"
}

func bannerMode(c *cli.Context) string {
	var parts []string
	if c.Bool("hidden") {
		parts = append(parts, "dot-files shown")
	}
	if c.Bool("encrypt") || len(c.StringSlice("recipient")) > 0 {
		parts = append(parts, "every download encrypted")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func passiveText(r string) string {
	if r == "" {
		return "any free one of 49152-65535 (set --passive-ports to open a firewall)"
	}
	return r
}

// serviceURLs lists the URLs of a listener: one per non-loopback interface
// address when it listens on all of them. local is true when the only
// URLs are loopback ones.
func serviceURLs(scheme string, addr net.Addr) (urls []string, local bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return []string{scheme + "://" + addr.String() + "/"}, false
	}
	port := strconv.Itoa(int(ap.Port()))
	hosts := []netip.Addr{ap.Addr().Unmap()}
	if ap.Addr().IsUnspecified() {
		hosts = lanAddrs(ap.Addr().Is4())
	}
	if len(hosts) == 0 {
		hosts = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	local = true
	for _, h := range hosts {
		local = local && h.IsLoopback()
		urls = append(urls, scheme+"://"+net.JoinHostPort(h.String(), port)+"/")
	}
	return urls, local
}

// lanAddrs returns the addresses of the interfaces that are up, without
// loopback and link-local ones (a link-local URL needs a zone nobody types).
func lanAddrs(only4 bool) []netip.Addr {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var v4, v6 []netip.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := p.Addr()
			switch {
			case ip.IsLoopback() || ip.IsLinkLocalUnicast():
			case ip.Is4():
				v4 = append(v4, ip)
			case !only4:
				v6 = append(v6, ip)
			}
		}
	}
	return append(v4, v6...)
}
