package discovery

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// The network the test builds, in namespaces of its own:
//
//	C (10.214.0.2) ── veth ── A (10.214.0.1, 10.213.0.1) ── veth ── B (10.213.0.2)
//
// The announcer runs in A, the browsers and the watcher in B and C.
// Nothing is sent on this machine's own interfaces.
const (
	addrA1 = "10.213.0.1"
	addrB  = "10.213.0.2"
	addrA2 = "10.214.0.1"
	addrC  = "10.214.0.2"
)

// testInstance has a dot, a backslash and a non-ASCII letter, which must
// all survive as one DNS label.
const testInstance = `share: Vidéos v1.2 \ on testhost`

func TestAnnounceInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Skip(t, "network namespaces need root")
	}
	testutil.NeedTool(t, "ip")
	peer := buildPeer(t)
	a, b, c := makeNetwork(t)

	watcher := startPeer(t, b, peer, "watch", "-iface", "veth-b", "-for", "60s")
	watcher.expect(t, "the watcher ready", func(h heardLine) bool { return h.Label == "watching" })

	// HTTP only on A's address towards B, FTP on all of A's interfaces
	// and both IP versions.
	announcer := startPeer(t, a, peer, "announce", "-instance", testInstance,
		"-http", addrA1+":8000", "-ftp", "[::]:2121")
	announcer.expect(t, "the announcer running", func(h heardLine) bool { return h.raw == "announcing" })
	watcher.expect(t, "an announcement", func(h heardLine) bool {
		return h.Type == "SRV" && h.Label == testInstance && h.Port == 8000 && h.TTL > 0
	})

	eventually(t, "B to find HTTP", func() bool { return hasEntry(browse(t, b, peer, "_http._tcp", "veth-b"), addrA1, 8000) })
	eventually(t, "B to find FTP", func() bool { return hasEntry(browse(t, b, peer, "_ftp._tcp", "veth-b"), addrA1, 2121) })
	eventually(t, "C to find FTP", func() bool { return hasEntry(browse(t, c, peer, "_ftp._tcp", "veth-c"), addrA2, 2121) })
	// Over IPv6 too, with A's link-local address towards B (veth links
	// have no other IPv6 address).
	eventually(t, "B to find FTP over IPv6", func() bool {
		for _, e := range browse(t, b, peer, "_ftp._tcp", "veth-b", "-6") {
			if e.Instance == testInstance && e.Port == 2121 && strings.HasPrefix(e.Addr6, "fe80:") {
				return true
			}
		}
		return false
	})
	if got := browse(t, c, peer, "_http._tcp", "veth-c", "-6"); len(got) != 0 {
		t.Errorf("C found HTTP over IPv6, which listens only towards B: %+v", got)
	}
	// HTTP listens on A's address towards B only: C must not hear of it.
	if got := browse(t, c, peer, "_http._tcp", "veth-c"); len(got) != 0 {
		t.Errorf("C found HTTP, which listens only towards B: %+v", got)
	}

	announcer.signal(t, syscall.SIGTERM)
	announcer.expect(t, "the announcer stopped", func(h heardLine) bool { return h.raw == "stopped" })
	for _, typ := range []string{"_http._tcp", "_ftp._tcp"} {
		watcher.expect(t, "a goodbye for "+typ, func(h heardLine) bool {
			return h.Type == "PTR" && h.Name == typ+".local." && h.Ptr == testInstance && h.TTL == 0
		})
	}
	if got := browse(t, b, peer, "_http._tcp", "veth-b"); len(got) != 0 {
		t.Errorf("B still finds HTTP after the stop: %+v", got)
	}
}

// makeNetwork creates namespaces A, B and C joined as drawn above, all
// deleted when the test ends.
func makeNetwork(t *testing.T) (a, b, c string) {
	prefix := fmt.Sprintf("sharetest-%d-", os.Getpid())
	a, b, c = prefix+"a", prefix+"b", prefix+"c"
	for _, ns := range []string{a, b, c} {
		ip(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
		ip(t, "-n", ns, "link", "set", "lo", "up")
		// Link-local IPv6 addresses usable at once, without duplicate
		// address detection, which no one else on these links needs.
		ip(t, "netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")
	}
	// Each pair is made inside A with its peer put straight into the other
	// namespace, so it never appears among this machine's interfaces.
	joinNamespaces(t, a, "veth-ab", addrA1, b, "veth-b", addrB)
	joinNamespaces(t, a, "veth-ac", addrA2, c, "veth-c", addrC)
	return a, b, c
}

// joinNamespaces joins two namespaces by a veth pair with a /24 address at each end.
func joinNamespaces(t *testing.T, ns1, if1, addr1, ns2, if2, addr2 string) {
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

// buildPeer builds testdata/mdnspeer.
func buildPeer(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "mdnspeer")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/mdnspeer").CombinedOutput()
	if err != nil {
		t.Fatalf("go build mdnspeer: %v\n%s", err, out)
	}
	return bin
}

// heardLine is one line a peer printed: a JSON object, or plain text.
type heardLine struct {
	raw   string
	Label string `json:"label"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	TTL   uint32 `json:"ttl"`
	Port  uint16 `json:"port"`
	Ptr   string `json:"ptr"`
}

// A peerProc is a peer running in a namespace, its output line by line.
type peerProc struct {
	cmd   *exec.Cmd
	lines chan heardLine
}

func startPeer(t *testing.T, ns, peer string, args ...string) *peerProc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, peer}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t, prefix: args[0] + ": "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peerProc{cmd: cmd, lines: make(chan heardLine, 256)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h := heardLine{raw: sc.Text()}
			json.Unmarshal(sc.Bytes(), &h)
			p.lines <- h
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// expect waits, at most 10 seconds, for a line that matches.
func (p *peerProc) expect(t *testing.T, what string, match func(heardLine) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case h, ok := <-p.lines:
			if !ok {
				t.Fatalf("waiting for %s: the peer ended", what)
			}
			if match(h) {
				return
			}
		case <-deadline:
			t.Fatalf("waited 10s for %s in vain", what)
		}
	}
}

func (p *peerProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// entry is one line of a browse.
type entry struct {
	Instance string `json:"instance"`
	Port     int    `json:"port"`
	Addr     string `json:"addr"`
	Addr6    string `json:"addr6"`
	TXT      string `json:"txt"`
}

// browse asks from ns for the service type, listening one second.
func browse(t *testing.T, ns, peer, typ, iface string, flags ...string) []entry {
	t.Helper()
	args := append([]string{"netns", "exec", ns, peer, "browse", "-type", typ, "-iface", iface, "-timeout", "1s"}, flags...)
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &testWriter{t: t, prefix: "browse: "}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("browse %s from %s: %v", typ, ns, err)
	}
	var got []entry
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e entry
		if line != "" && json.Unmarshal([]byte(line), &e) == nil {
			got = append(got, e)
		}
	}
	return got
}

// hasEntry reports whether the browse found the test's instance at
// addr:port, with its TXT record.
func hasEntry(got []entry, addr string, port int) bool {
	for _, e := range got {
		if e.Instance == testInstance && e.Addr == addr && e.Port == port && e.TXT == "path=/" {
			return true
		}
	}
	return false
}

// eventually retries cond, for at most ten tries.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 10 {
		if cond() {
			return
		}
	}
	t.Fatalf("waited in vain for %s", what)
}

// testWriter sends a peer's error output to the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
