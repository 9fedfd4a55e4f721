//go:build linux

package discovery_test

import (
	"strings"
	"syscall"
	"testing"

	"example.com/share/internal/discovery/nstest"
)

// testInstance has a dot, a backslash and a non-ASCII letter, which must
// all survive as one DNS label.
const testInstance = `share: Vidéos v1.2 \ on testhost`

// TestAnnounceInNamespaces runs the announcer in namespace A and browses
// from B and C (see nstest): nothing is sent on this machine's own
// interfaces.
func TestAnnounceInNamespaces(t *testing.T) {
	n := nstest.New(t)
	peer := nstest.Peer(t)

	watcher := nstest.Start(t, n.B, peer, "watch", "-iface", "veth-b", "-for", "60s")
	watcher.Expect(t, "the watcher ready", func(l nstest.Line) bool { return l.Label == "watching" })

	// HTTP only on A's address towards B, FTP on all of A's interfaces
	// and both IP versions.
	announcer := nstest.Start(t, n.A, peer, "announce", "-instance", testInstance,
		"-http", nstest.AddrA1+":8000", "-ftp", "[::]:2121")
	announcer.Expect(t, "the announcer running", func(l nstest.Line) bool { return l.Raw == "announcing" })
	watcher.Expect(t, "an announcement", func(l nstest.Line) bool {
		return l.Type == "SRV" && l.Label == testInstance && l.Port == 8000 && l.TTL > 0
	})

	found := func(ns, typ, iface, addr string, port int) func() bool {
		return func() bool {
			for _, e := range nstest.Browse(t, ns, peer, typ, iface) {
				if e.Instance == testInstance && e.Addr == addr && e.Port == port && e.TXT == "path=/" {
					return true
				}
			}
			return false
		}
	}
	nstest.Eventually(t, "B to find HTTP", found(n.B, "_http._tcp", "veth-b", nstest.AddrA1, 8000))
	nstest.Eventually(t, "B to find FTP", found(n.B, "_ftp._tcp", "veth-b", nstest.AddrA1, 2121))
	nstest.Eventually(t, "C to find FTP", found(n.C, "_ftp._tcp", "veth-c", nstest.AddrA2, 2121))
	// HTTP listens on A's address towards B only: C must not hear of it.
	if got := nstest.Browse(t, n.C, peer, "_http._tcp", "veth-c"); len(got) != 0 {
		t.Errorf("C found HTTP, which listens only towards B: %+v", got)
	}
	// Over IPv6 too, with A's link-local address towards B (veth links
	// have no other IPv6 address).
	nstest.Eventually(t, "B to find FTP over IPv6", func() bool {
		for _, e := range nstest.Browse(t, n.B, peer, "_ftp._tcp", "veth-b", "-6") {
			if e.Instance == testInstance && e.Port == 2121 && strings.HasPrefix(e.Addr6, "fe80:") {
				return true
			}
		}
		return false
	})
	if got := nstest.Browse(t, n.C, peer, "_http._tcp", "veth-c", "-6"); len(got) != 0 {
		t.Errorf("C found HTTP over IPv6, which listens only towards B: %+v", got)
	}

	announcer.Signal(t, syscall.SIGTERM)
	announcer.Expect(t, "the announcer stopped", func(l nstest.Line) bool { return l.Raw == "stopped" })
	// Both goodbyes, in whatever order they come: one Expect per type
	// would pass over the other's line if it came first.
	goodbyes := map[string]bool{"_http._tcp.local.": false, "_ftp._tcp.local.": false}
	watcher.Expect(t, "goodbyes for HTTP and FTP", func(l nstest.Line) bool {
		if _, ok := goodbyes[l.Name]; ok && l.Type == "PTR" && l.Ptr == testInstance && l.TTL == 0 {
			goodbyes[l.Name] = true
		}
		return goodbyes["_http._tcp.local."] && goodbyes["_ftp._tcp.local."]
	})
	if got := nstest.Browse(t, n.B, peer, "_http._tcp", "veth-b"); len(got) != 0 {
		t.Errorf("B still finds HTTP after the stop: %+v", got)
	}
}
