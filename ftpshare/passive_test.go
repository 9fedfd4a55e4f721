package ftpshare

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestBindPassiveSkipsPortsInUse: the passive scan steps over ports other
// programs hold (the address-in-use error of each system) and says so
// when the whole range is taken.
func TestBindPassiveSkipsPortsInUse(t *testing.T) {
	low, high := freePortRange(t, 4)
	loopback := netip.MustParseAddr("127.0.0.1")
	for p := low; p < high; p++ { // all but the last
		holdPort(t, p)
	}
	for range 20 { // the scan starts at a random port of the range
		ln, err := bindPassive(loopback, low, high)
		if err != nil {
			t.Fatalf("bindPassive with port %d free: %v", high, err)
		}
		if port := ln.Addr().(*net.TCPAddr).Port; port != high {
			t.Fatalf("bindPassive took port %d, want the free %d", port, high)
		}
		ln.Close()
	}
	holdPort(t, high)
	ln, err := bindPassive(loopback, low, high)
	if err == nil {
		ln.Close()
		t.Fatal("bindPassive succeeded with every port held")
	}
	if want := fmt.Sprintf("no free passive port in %d-%d", low, high); !strings.Contains(err.Error(), want) {
		t.Errorf("bindPassive with every port held: %v, want %q", err, want)
	}
}

// holdPort listens on a loopback port until the test ends.
func holdPort(t *testing.T, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("hold port %d: %v", port, err)
	}
	t.Cleanup(func() { ln.Close() })
}
