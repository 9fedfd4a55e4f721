package httpshare

import (
	"net"
	"net/netip"
	"os"
	"strings"
)

// hostCheck refuses requests whose Host header names neither an IP
// address nor this machine. Without it a web page on another domain could
// point its name at the share's address (DNS rebinding) and read the
// share from a coworker's browser as if it were its own site.
type hostCheck struct {
	names map[string]bool // lower case, without a trailing dot
	short string          // this machine's host name without its domain
}

// newHostCheck allows this machine's names, localhost, NAME.local (mDNS)
// and the extra names given.
func newHostCheck(extra ...string) *hostCheck {
	h := &hostCheck{names: map[string]bool{"localhost": true}}
	if name, err := os.Hostname(); err == nil && name != "" {
		name = normalHost(name)
		h.short, _, _ = strings.Cut(name, ".")
		for _, n := range []string{name, h.short, h.short + ".local"} {
			h.names[n] = true
		}
	}
	for _, n := range extra {
		h.names[normalHost(n)] = true
	}
	return h
}

// allowed reports whether a request's Host header may be served. Names
// whose first label is this machine's host name are allowed too, so that
// a LAN's DNS names for it work (ada.office.example for host ada).
func (h *hostCheck) allowed(hostport string) bool {
	host := hostport
	if hp, _, err := net.SplitHostPort(hostport); err == nil {
		host = hp
	}
	host = normalHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "" || h.names[host] {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	first, _, _ := strings.Cut(host, ".")
	return h.short != "" && first == h.short
}

func normalHost(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}
