package discovery

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"
)

func TestInstanceName(t *testing.T) {
	tests := []struct{ folder, host, want string }{
		{"Videos", "ada", "share: Videos on ada"},
		{strings.Repeat("é", 40), "ada", "share: " + strings.Repeat("é", 24) + " on ada"},
		{"x", strings.Repeat("h", 63), "share: x on " + strings.Repeat("h", 51)},
	}
	for _, tt := range tests {
		got := InstanceName(tt.folder, tt.host)
		if got != tt.want {
			t.Errorf("InstanceName(%q, %q) = %q, want %q", tt.folder, tt.host, got, tt.want)
		}
		if len(got) > maxLabel || !utf8.ValidString(got) {
			t.Errorf("InstanceName(%q, %q) = %q: not one valid label", tt.folder, tt.host, got)
		}
	}
}

func TestSelectInterfaces(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	candidates := []ifaceAddrs{
		{ifc: net.Interface{Index: 2, Name: "eth0"}, addrs: addrs("192.168.1.5", "fd00::5", "fe80::5")},
		{ifc: net.Interface{Index: 3, Name: "wlan0"}, addrs: addrs("10.0.0.7")},
		{ifc: net.Interface{Index: 4, Name: "v6only"}, addrs: addrs("fd01::9")},
	}
	tests := []struct {
		listen string
		want   map[string][]netip.Addr
	}{
		{"0.0.0.0", map[string][]netip.Addr{"eth0": addrs("192.168.1.5"), "wlan0": addrs("10.0.0.7")}},
		{"::", map[string][]netip.Addr{"eth0": addrs("192.168.1.5", "fd00::5", "fe80::5"), "wlan0": addrs("10.0.0.7"), "v6only": addrs("fd01::9")}},
		{"10.0.0.7", map[string][]netip.Addr{"wlan0": addrs("10.0.0.7")}},
		{"::ffff:10.0.0.7", map[string][]netip.Addr{"wlan0": addrs("10.0.0.7")}},
		{"fd00::5", map[string][]netip.Addr{"eth0": addrs("fd00::5")}},
		{"127.0.0.1", map[string][]netip.Addr{}},
		{"192.168.9.9", map[string][]netip.Addr{}},
	}
	for _, tt := range tests {
		got := map[string][]netip.Addr{}
		for _, ia := range selectInterfaces(netip.MustParseAddr(tt.listen), candidates) {
			got[ia.ifc.Name] = ia.addrs
		}
		if len(got) != len(tt.want) {
			t.Errorf("listening on %s: announced on %v, want %v", tt.listen, got, tt.want)
			continue
		}
		for name, want := range tt.want {
			if !slices.Equal(got[name], want) {
				t.Errorf("listening on %s: %s announces %v, want %v", tt.listen, name, got[name], want)
			}
		}
	}
}

// testLink is eth0 with HTTP on port 8000 at 192.168.1.5.
func testLink(t *testing.T) *link {
	t.Helper()
	s := Service{Type: "_http._tcp", Addr: netip.MustParseAddrPort("192.168.1.5:8000"), TXT: []string{"path=/"}}
	z, err := newZone("share: My.Files on ada", "ada", s, []netip.Addr{s.Addr.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	return &link{ifc: net.Interface{Index: 2, Name: "eth0"}, zones: []*zone{z}}
}

func query(name string, qtype uint16, qclass uint16) *dns.Msg {
	m := new(dns.Msg)
	m.Id = 4242
	m.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: qclass}}
	return m
}

func TestReplyToBrowse(t *testing.T) {
	l := testLink(t)
	resp, unicast := reply(query("_http._tcp.local.", dns.TypePTR, dns.ClassINET), &net.UDPAddr{IP: net.IPv4(192, 168, 1, 9), Port: mdnsPort}, l)
	if resp == nil {
		t.Fatal("no answer to a browse for _http._tcp")
	}
	if unicast {
		t.Error("answer to a multicast query sent to the querier alone, want the group")
	}
	if resp.Id != 0 || len(resp.Question) != 0 || !resp.Response || !resp.Authoritative {
		t.Errorf("multicast answer header: %+v", resp.MsgHdr)
	}
	var seen []string
	for _, rr := range resp.Answer {
		h := rr.Header()
		seen = append(seen, dns.TypeToString[h.Rrtype])
		switch rr := rr.(type) {
		case *dns.PTR:
			if rr.Ptr != `share: My\.Files on ada._http._tcp.local.` {
				t.Errorf("PTR points to %q", rr.Ptr)
			}
		case *dns.SRV:
			if rr.Port != 8000 || rr.Target != "ada.local." || h.Class != dns.ClassINET|cacheFlush {
				t.Errorf("SRV: %v", rr)
			}
		case *dns.A:
			if !rr.A.Equal(net.IPv4(192, 168, 1, 5)) || h.Class != dns.ClassINET {
				t.Errorf("A: %v", rr)
			}
		case *dns.TXT:
			if !slices.Equal(rr.Txt, []string{"path=/"}) {
				t.Errorf("TXT: %v", rr)
			}
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"A", "PTR", "SRV", "TXT"}) {
		t.Errorf("answer holds %v, want A, PTR, SRV, TXT", seen)
	}
}

func TestReplyToLegacyResolver(t *testing.T) {
	l := testLink(t)
	// Names compare without regard to case, and whatever the escapes.
	q := query(`SHARE:\032my\.files\ ON\ ADA._http._tcp.local.`, dns.TypeSRV, dns.ClassINET)
	from := &net.UDPAddr{IP: net.IPv4(192, 168, 1, 9), Port: 40000}
	resp, unicast := reply(q, from, l)
	if resp == nil {
		t.Fatal("no answer to an SRV query for the instance")
	}
	if !unicast {
		t.Error("legacy answer sent to the group, want the querier alone")
	}
	if resp.Id != q.Id || len(resp.Question) != 1 {
		t.Errorf("legacy answer must echo the ID and question: %+v", resp)
	}
	for _, rr := range resp.Answer {
		if rr.Header().Ttl > legacyTTL || rr.Header().Class&cacheFlush != 0 {
			t.Errorf("legacy answer record %v: TTL over %d or cache-flush set", rr, legacyTTL)
		}
	}
}

func TestReplyIgnoresOthers(t *testing.T) {
	l := testLink(t)
	from := &net.UDPAddr{IP: net.IPv4(192, 168, 1, 9), Port: mdnsPort}
	for _, name := range []string{"_ftp._tcp.local.", "other.local.", `share: Other on ada._http._tcp.local.`} {
		if resp, _ := reply(query(name, dns.TypeANY, dns.ClassINET), from, l); resp != nil {
			t.Errorf("answered a query for %s: %v", name, resp)
		}
	}
}

func TestReplyUnicastWanted(t *testing.T) {
	l := testLink(t)
	from := &net.UDPAddr{IP: net.IPv4(192, 168, 1, 9), Port: mdnsPort}
	resp, unicast := reply(query("_http._tcp.local.", dns.TypePTR, dns.ClassINET|unicastResponse), from, l)
	if resp == nil || !unicast {
		t.Fatalf("a QU question got %v (unicast %v), want an answer to the querier alone", resp, unicast)
	}
}

func TestGoodbyeKeepsSharedRecords(t *testing.T) {
	msg := unsolicited(testLink(t).goodbye(), 0)
	var types []string
	for _, rr := range msg.Answer {
		if rr.Header().Ttl != 0 {
			t.Errorf("goodbye record with TTL %d: %v", rr.Header().Ttl, rr)
		}
		types = append(types, dns.TypeToString[rr.Header().Rrtype])
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"PTR", "SRV", "TXT"}) {
		t.Errorf("goodbye holds %v, want PTR, SRV, TXT (not the host's addresses)", types)
	}
}
