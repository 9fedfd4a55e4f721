// Package nstest builds throw-away networks of Linux network namespaces for
// the mDNS tests, and runs programs inside them, so that no test packet
// ever reaches this machine's own interfaces. It needs root and iproute2's
// ip; without them the tests skip (and fail in CI).
package nstest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// The network New builds:
//
//	C (10.214.0.2) ── veth ── A (10.214.0.1, 10.213.0.1) ── veth ── B (10.213.0.2)
//
// The interfaces are veth-ab and veth-ac in A, veth-b in B, veth-c in C.
const (
	AddrA1 = "10.213.0.1" // A towards B
	AddrB  = "10.213.0.2"
	AddrA2 = "10.214.0.1" // A towards C
	AddrC  = "10.214.0.2"
)

// Net names the three namespaces of a test network.
type Net struct{ A, B, C string }

var serial atomic.Int32

// New creates the namespaces and links of the test network, all deleted
// when the test ends.
func New(t *testing.T) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Skip(t, "network namespaces need root")
	}
	testutil.NeedTool(t, "ip")
	prefix := fmt.Sprintf("sharetest-%d-%d-", os.Getpid(), serial.Add(1))
	n := &Net{A: prefix + "a", B: prefix + "b", C: prefix + "c"}
	for _, ns := range []string{n.A, n.B, n.C} {
		ip(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
		ip(t, "-n", ns, "link", "set", "lo", "up")
		// Link-local IPv6 addresses usable at once, without duplicate
		// address detection, which no one else on these links needs.
		ip(t, "netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")
	}
	// Each pair is made inside A with its peer put straight into the other
	// namespace, so it never appears among this machine's interfaces.
	join(t, n.A, "veth-ab", AddrA1, n.B, "veth-b", AddrB)
	join(t, n.A, "veth-ac", AddrA2, n.C, "veth-c", AddrC)
	return n
}

// join links two namespaces by a veth pair with a /24 address at each end.
func join(t *testing.T, ns1, if1, addr1, ns2, if2, addr2 string) {
	ip(t, "-n", ns1, "link", "add", if1, "type", "veth", "peer", "name", if2, "netns", ns2)
	for _, end := range [][3]string{{ns1, if1, addr1}, {ns2, if2, addr2}} {
		ip(t, "-n", end[0], "addr", "add", end[2]+"/24", "dev", end[1])
		ip(t, "-n", end[0], "link", "set", end[1], "up")
	}
	// The browser joins the mDNS group without naming an interface: the
	// route for multicast tells the kernel which.
	ip(t, "-n", ns2, "route", "add", "224.0.0.0/4", "dev", if2)
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		testutil.Skip(t, fmt.Sprintf("cannot build the test network: ip %s: %v: %s", strings.Join(args, " "), err, out))
	}
}

// Peer builds the mdnspeer helper (internal/discovery/testdata/mdnspeer).
func Peer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mdnspeer")
	out, err := exec.Command("go", "build", "-o", bin, "example.com/share/internal/discovery/testdata/mdnspeer").CombinedOutput()
	if err != nil {
		t.Fatalf("go build mdnspeer: %v\n%s", err, out)
	}
	return bin
}

// Line is one line a program printed: plain text, and its fields when it
// is one of mdnspeer's JSON objects.
type Line struct {
	Raw   string
	Label string `json:"label"` // first label of the owner name, unescaped
	Name  string `json:"name"`
	Type  string `json:"type"`
	TTL   uint32 `json:"ttl"`
	Port  uint16 `json:"port"`
	Ptr   string `json:"ptr"` // first label the PTR points to
}

// A Proc is a program running in a namespace, its output line by line.
type Proc struct {
	cmd   *exec.Cmd
	lines chan Line
}

// Start runs the program with its arguments inside the namespace until the
// test ends. Its standard error goes to the test log.
func Start(t *testing.T, ns, program string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, program}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t, prefix: filepath.Base(program) + ": "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{cmd: cmd, lines: make(chan Line, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := Line{Raw: sc.Text()}
			json.Unmarshal(sc.Bytes(), &l)
			p.lines <- l
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// Expect waits, at most 10 seconds, for a line that matches, and returns
// it.
func (p *Proc) Expect(t *testing.T, what string, match func(Line) bool) Line {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("waiting for %s: the program ended", what)
			}
			if match(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("waited 10s for %s in vain", what)
		}
	}
}

// Signal sends sig to the program.
func (p *Proc) Signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Wait waits, at most 10 seconds, for the program to end, and returns its
// exit code.
func (p *Proc) Wait(t *testing.T) int {
	t.Helper()
	for range p.lines { // the output ends first
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not end within 10s")
		return -1
	}
}

// Entry is one service instance a browse found.
type Entry struct {
	Instance string `json:"instance"`
	Port     int    `json:"port"`
	Addr     string `json:"addr"`
	Addr6    string `json:"addr6"`
	TXT      string `json:"txt"`
}

// Browse asks from the namespace, on the interface, for the service type,
// listening one second. flags go to mdnspeer browse ("-6").
func Browse(t *testing.T, ns, peer, typ, iface string, flags ...string) []Entry {
	t.Helper()
	args := append([]string{"netns", "exec", ns, peer, "browse", "-type", typ, "-iface", iface, "-timeout", "1s"}, flags...)
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &testWriter{t: t, prefix: "browse: "}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browse %s from %s: %v", typ, ns, err)
	}
	var got []Entry
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e Entry
		if line != "" && json.Unmarshal([]byte(line), &e) == nil {
			got = append(got, e)
		}
	}
	return got
}

// Has reports whether the browse found the instance at addr:port.
func Has(got []Entry, instance, addr string, port int) bool {
	for _, e := range got {
		if e.Instance == instance && e.Addr == addr && e.Port == port {
			return true
		}
	}
	return false
}

// Eventually retries cond, for at most ten tries.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 10 {
		if cond() {
			return
		}
	}
	t.Fatalf("waited in vain for %s", what)
}

// testWriter sends a program's error output to the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
