package httpshare

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"example.com/share/internal/hostnames"
)

// hostCheck refuses requests whose Host header names neither an IP
// address nor this machine. Without it a web page on another domain could
// point its name at the share's address (DNS rebinding) and read the
// share from a coworker's browser as if it were its own site. Names are
// matched exactly: any name merely starting like this machine's could be
// an attacker's.
type hostCheck struct {
	names map[string]bool // lower case, without a trailing dot

	mu     sync.Mutex
	warned map[string]bool // refused names already logged
}

// maxWarnedHosts bounds the refused names remembered so each is logged
// once.
const maxWarnedHosts = 64

// newHostCheck allows localhost, this machine's names (hostnames.Names:
// the mDNS name included) and the extra names given (--public-host).
func newHostCheck(machine hostnames.Names, extra ...string) *hostCheck {
	h := &hostCheck{names: map[string]bool{"localhost": true}, warned: map[string]bool{}}
	for _, n := range append(machine.All(), extra...) {
		h.names[hostnames.Normal(n)] = true
	}
	return h
}

// allowed reports whether a request's Host header may be served.
func (h *hostCheck) allowed(hostport string) bool {
	host := hostOnly(hostport)
	if host == "" || h.names[host] {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// hostOnly is the normalised host name of a Host header, without port.
func hostOnly(hostport string) string {
	host := hostport
	if hp, _, err := net.SplitHostPort(hostport); err == nil {
		host = hp
	}
	return hostnames.Normal(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// warnOnce logs a refused Host once per name (up to maxWarnedHosts
// names), saying what would admit it.
func (h *hostCheck) warnOnce(log *slog.Logger, hostport, client string) {
	host := hostOnly(hostport)
	h.mu.Lock()
	seen := h.warned[host] || len(h.warned) >= maxWarnedHosts
	h.warned[host] = true
	h.mu.Unlock()
	if !seen {
		log.Warn("request for a host name that is not this machine's refused (421); if people reach this machine by that name, start share with --public-host NAME",
			"host", truncateName(host), "client", client)
	}
}

// truncateName keeps a logged name short.
func truncateName(s string) string { return hostnames.TruncateUTF8(s, 255) }
