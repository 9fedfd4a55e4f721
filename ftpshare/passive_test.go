package ftpshare

import (
	"fmt"
	"io"
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

// TestBindPassiveReusesTimeWait: a port whose last data connection the
// server closed first (it is then in TIME_WAIT, as after every FTP
// transfer) is bound again at once, and so is any port of the default
// range; the kernel's own pick would skip such ports.
func TestBindPassiveReusesTimeWait(t *testing.T) {
	low, high := freePortRange(t, 1)
	loopback := netip.MustParseAddr("127.0.0.1")
	ln, err := bindPassive(loopback, low, high)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	server.Close() // first, as a server ends a file
	if _, err := io.ReadAll(client); err != nil {
		t.Fatal(err)
	}
	client.Close() // the server's side is now in TIME_WAIT
	again, err := bindPassive(loopback, low, high)
	if err != nil {
		t.Fatalf("port %d after a transfer: %v", low, err)
	}
	again.Close()
	dyn, err := bindPassive(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	if port := dyn.Addr().(*net.TCPAddr).Port; port < dynamicPortsLow || port > dynamicPortsHigh {
		t.Errorf("default passive port %d, want one of %d-%d", port, dynamicPortsLow, dynamicPortsHigh)
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
