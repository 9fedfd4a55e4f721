//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"rsc.io/qr"

	"example.com/share/internal/discovery"
	"example.com/share/internal/discovery/nstest"
	"example.com/share/internal/testutil"
)

// TestShareFoundByMDNS runs the share binary with --mdns and --qr in
// namespace A of a test network (see nstest) and browses from B and C:
// nothing is sent on this machine's own interfaces.
func TestShareFoundByMDNS(t *testing.T) {
	n := nstest.New(t)
	peer := nstest.Peer(t)
	bin := testutil.BuildShare(t)
	dir := filepath.Join(t.TempDir(), "Team Videos")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	host, err := discovery.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	instance := discovery.InstanceName("Team Videos", host)

	watcher := nstest.Start(t, n.B, peer, "watch", "-iface", "veth-b", "-for", "60s")
	watcher.Expect(t, "the watcher ready", func(l nstest.Line) bool { return l.Label == "watching" })

	// HTTP on every interface of A, FTP only towards C. The namespace has
	// ports of its own, so the defaults are free.
	share := nstest.Start(t, n.A, bin, "--mdns", "--qr", "--http", ":8000", "--ftp", nstest.AddrA2+":2121", dir)
	checkBannerQR(t, share)

	nstest.Eventually(t, "B to find HTTP", func() bool {
		return nstest.Has(nstest.Browse(t, n.B, peer, "_http._tcp", "veth-b"), instance, nstest.AddrA1, 8000)
	})
	nstest.Eventually(t, "C to find HTTP", func() bool {
		return nstest.Has(nstest.Browse(t, n.C, peer, "_http._tcp", "veth-c"), instance, nstest.AddrA2, 8000)
	})
	nstest.Eventually(t, "C to find FTP", func() bool {
		return nstest.Has(nstest.Browse(t, n.C, peer, "_ftp._tcp", "veth-c"), instance, nstest.AddrA2, 2121)
	})
	if got := nstest.Browse(t, n.B, peer, "_ftp._tcp", "veth-b"); len(got) != 0 {
		t.Errorf("B found FTP, which listens only towards C: %+v", got)
	}

	share.Signal(t, syscall.SIGTERM)
	watcher.Expect(t, "a goodbye for HTTP", func(l nstest.Line) bool {
		return l.Type == "PTR" && l.Name == "_http._tcp.local." && l.Ptr == instance && l.TTL == 0
	})
	if code := share.Wait(t); code != exitOK {
		t.Errorf("share exited with %d after SIGTERM, want %d", code, exitOK)
	}
}

// checkBannerQR reads the banner up to the end of the QR code, and checks
// that the code holds the first HTTP URL of the banner.
func checkBannerQR(t *testing.T, share *nstest.Proc) {
	t.Helper()
	first := share.Expect(t, "the banner's HTTP URL", func(l nstest.Line) bool {
		return strings.HasPrefix(strings.TrimSpace(l.Raw), "HTTP ")
	})
	url := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(first.Raw), "HTTP"))
	if url != "http://"+nstest.AddrA1+":8000/" && url != "http://"+nstest.AddrA2+":8000/" {
		t.Fatalf("banner's first HTTP URL is %q, want one of A's addresses", url)
	}
	code, err := qr.Encode(url, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	// The code is the last thing share prints: read its rows.
	var drawn strings.Builder
	rows := (code.Size + 2*qrQuiet + 1) / 2
	share.Expect(t, "the QR code", func(l nstest.Line) bool {
		if strings.HasPrefix(l.Raw, qrColors) {
			drawn.WriteString(l.Raw + "\n")
			rows--
		}
		return rows == 0
	})
	got := readDrawnQR(t, drawn.String())
	for y := range code.Size {
		for x := range code.Size {
			if got[y+qrQuiet][x+qrQuiet] != code.Black(x, y) {
				t.Fatalf("the QR code drawn is not the one of %s", url)
			}
		}
	}
}
