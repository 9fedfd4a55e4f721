package main

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"rsc.io/qr"
)

// addrListener is a listener that only has an address: enough for the
// URLs, without opening anything.
type addrListener struct{ addr net.Addr }

func (l addrListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (l addrListener) Close() error              { return nil }
func (l addrListener) Addr() net.Addr            { return l.addr }

func fakeService(proto, addr string) service {
	return service{proto: proto, ln: addrListener{net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))}}
}

// privateService is fakeService under --tls --secret with token.
func privateService(proto, addr, token string) service {
	s := fakeService(proto, addr)
	s.private = &privacy{tls: &tls.Config{}, secret: token}
	return s
}

// runDiscovery runs startDiscovery and stop under the command line args,
// returning what it printed and logged.
func runDiscovery(t *testing.T, services []service, args ...string) (out, log string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &cli.App{
		Flags:  append(append(discoveryFlags(), privateFlags()...), &cli.BoolFlag{Name: "quiet"}),
		Writer: &stdout,
		Action: func(c *cli.Context) error {
			stop := startDiscovery(c, t.TempDir(), services, slog.New(slog.NewTextHandler(&stderr, nil)))
			stop()
			return nil
		},
	}
	if err := app.Run(append([]string{"share"}, args...)); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String()
}

func TestQRShowsTheFirstLANURL(t *testing.T) {
	tests := []struct {
		name     string
		services []service
		want     string
	}{
		{"http first", []service{fakeService("ftp", "192.168.1.23:2121"), fakeService("http", "192.168.1.23:8000")}, "http://192.168.1.23:8000/"},
		{"ftp alone", []service{fakeService("ftp", "10.1.2.3:21")}, "ftp://10.1.2.3:21/"},
		{"http on loopback", []service{fakeService("http", "127.0.0.1:8000"), fakeService("ftp", "10.1.2.3:2121")}, "ftp://10.1.2.3:2121/"},
		{"secret link", []service{privateService("http", "192.168.1.23:8000", "Tok3n_x-9")}, "https://192.168.1.23:8000/Tok3n_x-9/"},
		{"secret ftp", []service{privateService("ftp", "10.1.2.3:2121", "Tok3n_x-9")}, "ftp://share:Tok3n_x-9@10.1.2.3:2121/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := runDiscovery(t, tt.services, "--qr")
			code, err := qr.Encode(tt.want, qr.M)
			if err != nil {
				t.Fatal(err)
			}
			got := readDrawnQR(t, out)
			for y := range code.Size {
				for x := range code.Size {
					if got[y+qrQuiet][x+qrQuiet] != code.Black(x, y) {
						t.Fatalf("the QR code drawn is not the one of %s (module %d,%d)", tt.want, x, y)
					}
				}
			}
		})
	}
}

func TestQRNeedsALANURL(t *testing.T) {
	out, log := runDiscovery(t, []service{fakeService("http", "127.0.0.1:8000")}, "--qr")
	if out != "" || !strings.Contains(log, "no QR code") {
		t.Errorf("loopback only: printed %q, logged %q; want nothing printed and a warning", out, log)
	}
}

func TestQRQuietAndOff(t *testing.T) {
	s := []service{fakeService("http", "192.168.1.23:8000")}
	for _, args := range [][]string{{}, {"--qr", "--quiet"}} {
		if out, _ := runDiscovery(t, s, args...); out != "" {
			t.Errorf("share %v printed %q, want nothing", args, out)
		}
	}
}

func TestQREnvironment(t *testing.T) {
	t.Setenv("SHARE_QR", "true")
	if out, _ := runDiscovery(t, []service{fakeService("http", "192.168.1.23:8000")}); out == "" {
		t.Error("SHARE_QR=true drew no QR code")
	}
}

// TestMDNSOffWithSecret: with --secret, --mdns announces nothing, not
// even on a LAN address, and says why.
func TestMDNSOffWithSecret(t *testing.T) {
	// 192.0.2.0/24 is for documentation: no machine has it, so nothing
	// can be sent even if the guard fails.
	s := []service{privateService("http", "192.0.2.23:8000", "tok")}
	out, log := runDiscovery(t, s, "--mdns", "--secret")
	if out != "" || !strings.Contains(log, "with --secret the link is the secret") || strings.Contains(log, "coworkers need the address") {
		t.Errorf("--mdns --secret: printed %q, logged %q; want no announcement tried, and why", out, log)
	}
	// Without --secret the same service is announced (here it fails: the
	// address is not this machine's), so the test above tells them apart.
	if _, log := runDiscovery(t, s, "--mdns"); !strings.Contains(log, "not announced by mDNS;") {
		t.Errorf("--mdns alone did not try to announce: %q", log)
	}
}

// TestMDNSFailureIsLogged checks that share goes on, with a warning, when
// there is nothing to announce on. Announcing for real is tested in
// internal/discovery, inside network namespaces.
func TestMDNSFailureIsLogged(t *testing.T) {
	out, log := runDiscovery(t, []service{fakeService("http", "127.0.0.1:8000")}, "--mdns")
	if out != "" || !strings.Contains(log, "not announced by mDNS") || !strings.Contains(log, "loopback") {
		t.Errorf("mDNS on loopback only: printed %q, logged %q; want a warning naming the cause", out, log)
	}
}
