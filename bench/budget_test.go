package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// The HTTP caps of httpshare (limit.go, jobs.go, headerlimit.go).
const (
	budgetConns     = 1024 // connections in total
	budgetPerClient = 64   // connections per client address
	budgetFields    = 100  // header fields per request
	budgetHeader    = 16 << 10
)

// BenchmarkHTTPBudget fills share's HTTP connection caps with hostile
// clients doing the worst of issue 9's findings 4, 6 and 7 at once, from
// 16 loopback addresses, against a folder holding a 20,000-file folder:
// requests at the header limits for a big file whose response is never
// read, thousands of pipelined small-file requests never read, and every
// folder job slot taken by archives never read (more waiting). It reports
// share's peak RSS (VmHWM) and how long a client from another address
// waits for a small file and for a folder listing while two places are
// left, then for any answer once the last two are taken too (a 503,
// unless the server has dropped a hostile connection meanwhile).
//
//	go test -run '^$' -bench '^BenchmarkHTTPBudget$' -benchtime 1x ./bench
func BenchmarkHTTPBudget(b *testing.B) {
	dir := budgetFolder(b)
	srv, pid := startBudgetShare(b, dir)
	http.DefaultClient.CloseIdleConnections() // launch's
	for range b.N {
		conns := fillCaps(b, srv, 0, budgetConns-2)
		time.Sleep(5 * time.Second) // let the server read, answer and stall
		probe := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.21.1")}}).DialContext}
		file, _ := timeGet(b, probe, "http://"+srv+"/4k.bin", 200)
		list, _ := timeGet(b, probe, "http://"+srv+"/many/?format=json", 200)
		probe.CloseIdleConnections()
		conns = append(conns, fillCaps(b, srv, budgetConns-2, budgetConns)...)
		time.Sleep(time.Second)
		full, status := timeGet(b, probe, "http://"+srv+"/4k.bin", 0)
		b.ReportMetric(float64(vm(pid, "VmHWM"))/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(vm(pid, "VmRSS"))/1024, "RSS-MiB")
		b.ReportMetric(file.Seconds(), "small-file-s")
		b.ReportMetric(list.Seconds(), "listing-20k-s")
		b.ReportMetric(full.Seconds(), "caps-full-s")
		b.ReportMetric(float64(status), "caps-full-status")
		for _, c := range conns {
			c.Close()
		}
	}
}

// budgetFolder makes the shared folder: many/ (20,000 small files),
// 4k.bin, a 256 MiB sparse big.img, and fold/ for the archives.
func budgetFolder(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	many := filepath.Join(dir, "many")
	if err := os.MkdirAll(many, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 20_000 {
		if err := os.WriteFile(filepath.Join(many, fmt.Sprintf("file-%05d.txt", i)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "4k.bin"), make([]byte, 4<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "big.img"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(256 << 20); err != nil {
		b.Fatal(err)
	}
	return dir
}

// startBudgetShare runs the built share on a free loopback port and
// returns its address and pid; it stops with the benchmark.
func startBudgetShare(b *testing.B, dir string) (string, int) {
	b.Helper()
	bin := testutil.BuildShare(b)
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--http", addr, "--no-ftp", "--quiet", dir)
	cmd.Stderr = os.Stderr
	s, err := launch("share", "http://"+addr, cmd, syscall.SIGTERM, os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.stop)
	return addr, cmd.Process.Pid
}

// fillCaps opens hostile connections number from to to (of
// budgetConns, budgetPerClient per address), each doing one kind of
// harm, and returns them.
func fillCaps(b *testing.B, addr string, from, to int) []net.Conn {
	b.Helper()
	stalled := headerLimitRequest("/big.img")
	pipelined := strings.Repeat("GET /4k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 500)
	var conns []net.Conn
	for i := from; i < to; i++ {
		ip := fmt.Sprintf("127.0.20.%d", 1+i/budgetPerClient)
		var req string
		switch k := i % budgetPerClient; {
		case k < 4:
			req = "GET /?" + []string{"zip", "tar.gz", "sha256", "zip"}[k] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
		case k < 14:
			req = pipelined
		default:
			req = stalled
		}
		c := dialQuiet(b, ip, addr)
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			_, _ = io.WriteString(c, req) // may block: the server stops reading
		}()
		conns = append(conns, c)
	}
	return conns
}

// headerLimitRequest is a GET of target with as many header fields and
// bytes as share takes.
func headerLimitRequest(target string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", target)
	for i := 2; i < budgetFields; i++ {
		fmt.Fprintf(&sb, "X-%d: v\r\n", i)
	}
	pad := budgetHeader - sb.Len() - len("X-Pad: \r\n\r\n")
	fmt.Fprintf(&sb, "X-Pad: %s\r\n\r\n", strings.Repeat("p", pad))
	return sb.String()
}

// dialQuiet connects from a loopback address with a small receive
// buffer, so that the server's writes to it stall soon.
func dialQuiet(b *testing.B, from, addr string) net.Conn {
	c, err := testutil.SmallWindow(from).Dial("tcp", addr)
	if err != nil {
		b.Fatalf("dial from %s: %v", from, err)
	}
	return c
}

// timeGet fetches url through tr (from another loopback address) and
// returns how long the answer took and its status; a status but want
// (unless 0) fails.
func timeGet(b *testing.B, tr *http.Transport, url string, want int) (time.Duration, int) {
	b.Helper()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		b.Fatalf("GET %s beside the hostile clients: %v", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, bufio.NewReader(resp.Body)); err != nil || (want != 0 && resp.StatusCode != want) {
		b.Fatalf("GET %s beside the hostile clients: %s %v", url, resp.Status, err)
	}
	return time.Since(start), resp.StatusCode
}
