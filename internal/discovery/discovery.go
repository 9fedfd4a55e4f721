// Package discovery announces a running share on the local network by
// multicast DNS service discovery (DNS-SD over mDNS, RFC 6762 and 6763), so
// that coworkers' file managers and browsers list it without anyone typing
// an address.
//
// The records (PTR, SRV, TXT, A, AAAA) are built by github.com/hashicorp/mdns;
// this package answers queries itself, per interface, because the library's
// responder can neither keep to the interfaces share listens on nor say
// goodbye when it stops.
package discovery

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"

	"example.com/share/internal/hostnames"
)

// Service is one server to announce.
type Service struct {
	// Type is the DNS-SD service type, such as "_http._tcp" or "_ftp._tcp".
	Type string
	// Addr is the address the server listens on. An unspecified address
	// (0.0.0.0 or ::) announces it on every up, multicast-capable,
	// non-loopback interface; any other address only on the interface that
	// holds it.
	Addr netip.AddrPort
	// TXT holds the DNS-SD key=value strings, such as "path=/".
	TXT []string
}

// maxLabel is the longest DNS label, in bytes.
const maxLabel = 63

// Announce answers mDNS queries for the services under the instance name
// (a free-form, human-readable name such as "share: Videos on ada") on
// the interfaces the services listen on, and announces them once at once.
// stop withdraws them with goodbye packets and releases the socket; it may
// be called more than once. logger may be nil.
func Announce(instance string, services []Service, logger *slog.Logger) (stop func(), err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, err := Hostname()
	if err != nil {
		return nil, err
	}
	links, err := plan(instance, host, services)
	if err != nil {
		return nil, err
	}
	r, err := startResponder(links, logger)
	if err != nil {
		return nil, err
	}
	return r.stop, nil
}

// InstanceName is the name share announces itself under: the folder and
// the host, cut to fit one DNS label.
func InstanceName(folder, host string) string {
	prefix, suffix := "share: ", " on "+host
	room := maxLabel - len(prefix) - len(suffix)
	if room < 1 {
		return truncateUTF8(prefix+folder+suffix, maxLabel)
	}
	return prefix + truncateUTF8(folder, room) + suffix
}

// Hostname is this machine's name as a single mDNS host label
// (hostnames.MDNSLabel): the HTTP server answers to exactly HOST.local.
func Hostname() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("cannot tell this machine's name for mDNS: %w", err)
	}
	return hostnames.MDNSLabel(h), nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string { return hostnames.TruncateUTF8(s, n) }
