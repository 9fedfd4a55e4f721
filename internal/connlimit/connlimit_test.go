package connlimit

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func take(t *testing.T, l *Limiter, ip string) func() {
	t.Helper()
	release, err := l.Take(netip.MustParseAddr(ip))
	if err != nil {
		t.Fatalf("Take(%s): %v", ip, err)
	}
	return release
}

func refused(t *testing.T, l *Limiter, ip, scope string) {
	t.Helper()
	_, err := l.Take(netip.MustParseAddr(ip))
	var r *Refusal
	if !errors.As(err, &r) || !strings.Contains(err.Error(), scope) {
		t.Fatalf("Take(%s) = %v, want a refusal naming %q", ip, err, scope)
	}
}

func TestPerClientAndTotal(t *testing.T) {
	l := New(5, 2)
	first := take(t, l, "10.0.0.1")
	take(t, l, "::ffff:10.0.0.1") // the same client, mapped
	refused(t, l, "10.0.0.1", "from your address (2)")
	take(t, l, "10.0.0.2")
	take(t, l, "10.0.0.2")
	take(t, l, "10.0.0.3")
	refused(t, l, "10.0.0.4", "connections (5)")
	first()
	first() // twice gives back once
	take(t, l, "10.0.0.4")
	refused(t, l, "10.0.0.5", "connections (5)")
	if got := l.String(); got != "5/5 connections" {
		t.Errorf("String() = %q", got)
	}
}

// TestIPv6PerAddressAndNetwork: each IPv6 address is its own client, and
// one /64 together holds NetworkFactor clients' worth.
func TestIPv6PerAddressAndNetwork(t *testing.T) {
	const per = 2
	l := New(100, per)
	var releases []func()
	for i := range NetworkFactor {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, byte(i + 1)}).String()
		for range per {
			releases = append(releases, take(t, l, ip))
		}
		refused(t, l, ip, "from your address")
	}
	refused(t, l, "2001:db8:1:2::ff", "from your /64 network (8)")
	take(t, l, "2001:db8:1:3::1") // another /64 is another network
	take(t, l, "10.0.0.1")
	releases[0]()
	take(t, l, "2001:db8:1:2::ff")
	refused(t, l, "2001:db8:1:2::fe", "/64")
}
