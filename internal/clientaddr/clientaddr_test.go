package clientaddr

import (
	"net"
	"net/netip"
	"testing"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.2":          "192.168.1.2",
		"::ffff:192.168.1.2":   "192.168.1.2",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2:3:4:5:6",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2:ffff::1",
		"::1":                  "::1",
		"fe80::1%eth0":         "fe80::1",
	} {
		if got := Key(netip.MustParseAddr(in)); got != netip.MustParseAddr(want) {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"::1":                  "::/64",
		"fe80::1234:5678%eth0": "fe80::/64",
	} {
		got, ok := Network(netip.MustParseAddr(in))
		if !ok || got != netip.MustParsePrefix(want) {
			t.Errorf("Network(%s) = %s %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"192.168.1.2", "::ffff:10.0.0.1"} {
		if got, ok := Network(netip.MustParseAddr(in)); ok {
			t.Errorf("Network(%s) = %s, want none for IPv4", in, got)
		}
	}
}

func TestOf(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::9"), Port: 5}, "2001:db8::9"},
		{&net.UDPAddr{IP: net.ParseIP("10.0.0.7"), Port: 5}, "10.0.0.7"},
	} {
		if got := Of(c.addr); got != netip.MustParseAddr(c.want) {
			t.Errorf("Of(%v) = %s, want %s", c.addr, got, c.want)
		}
	}
	if got := Of(&net.UnixAddr{Name: "/x", Net: "unix"}); got.IsValid() {
		t.Errorf("Of(unix) = %s, want none", got)
	}
}
