package clientaddr

import (
	"net/netip"
	"testing"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.2":             "192.168.1.2",
		"::ffff:192.168.1.2":      "192.168.1.2",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::",
		"2001:db8:1:2:ffff::1":    "2001:db8:1:2::",
		"::1":                     "::",
		"fe80::1234:5678:9abc:de": "fe80::",
	} {
		if got := Key(netip.MustParseAddr(in)); got != netip.MustParseAddr(want) {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}
