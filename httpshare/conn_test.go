package httpshare

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// TestSlowClients: hundreds of connections that send half a request
// header, or nothing, cost no CPU, do not delay a normal request, and are
// closed by the server once the header time-out passes.
func TestSlowClients(t *testing.T) {
	const slow, idle = 300, 100
	const headerTimeout = 2 * time.Second
	ts := startServer(t, shareView(t, fixture.dir, false), func(s *Server) {
		s.srv.ReadHeaderTimeout = headerTimeout
	})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slow + idle {
		// From many loopback addresses: one client alone is capped.
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%20))}}
		c, err := d.Dial("tcp", ts.Addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i < slow {
			fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: %s\r\nX-Slow: ", ts.Addr)
		}
	}
	before := testutil.CPUTime(t)
	time.Sleep(time.Second)
	if used := testutil.CPUTime(t) - before; used > 300*time.Millisecond {
		t.Errorf("%v of CPU in one second with %d stalled connections", used, slow+idle)
	}
	start := time.Now()
	resp, body := doRequest(t, "GET", ts.URL+"/hello.txt")
	if resp.StatusCode != 200 || string(body) != "hello world\n" {
		t.Fatalf("normal request: %d", resp.StatusCode)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("normal request took %v beside stalled connections", waited)
	}
	expectDropped(t, conns, headerTimeout+5*time.Second)
}

// expectDropped checks that the server closes every stalled connection
// within d, and answers none of them with a 200.
func expectDropped(t *testing.T, conns []net.Conn, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for i, c := range conns {
		_ = c.SetReadDeadline(deadline)
		data, err := io.ReadAll(c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection %d still open after %v: %v", i, d, err)
		}
		if bytes.Contains(data, []byte(" 200 ")) {
			t.Fatalf("connection %d got an answer: %q", i, data)
		}
	}
}

// TestShutdownLetsTransfersFinish: Shutdown waits for a download in
// flight, and Serve then returns nil.
func TestShutdownLetsTransfersFinish(t *testing.T) {
	s := New(shareView(t, fixture.dir, false), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	resp, err := client.Get("http://" + ln.Addr().String() + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(first)+len(rest) != len(fixture.files["big.bin"]) {
		t.Fatalf("download cut by shutdown: %d bytes, %v", len(first)+len(rest), err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// TestSendfileHelper is the server side of TestSendfile, run in a child
// process under strace. It is a no-op otherwise.
func TestSendfileHelper(t *testing.T) {
	dir := os.Getenv("HTTPSHARE_SENDFILE_DIR")
	if dir == "" {
		return
	}
	s := New(shareView(t, dir, false), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	// The parent closes stdin when it is done.
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

var sendfileRE = regexp.MustCompile(`sendfile\(.*\)\s+=\s+(\d+)`)

// TestSendfile runs the server under strace and checks that a download's
// bytes went out through sendfile(2), for a whole file and a range.
func TestSendfile(t *testing.T) {
	strace := testutil.NeedTool(t, "strace")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	trace := t.TempDir() + "/strace.out"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strace, "-f", "-qq", "-e", "trace=sendfile", "-e", "signal=none", "-o", trace,
		exe, "-test.run=^TestSendfileHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HTTPSHARE_SENDFILE_DIR="+fixture.dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("helper said %q: %v", line, err)
	}
	base := "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	big := fixture.files["big.bin"]
	if _, body := doRequest(t, "GET", base+"/big.bin"); !bytes.Equal(body, big) {
		t.Fatalf("download under strace: %d bytes", len(body))
	}
	if _, body := doRequest(t, "GET", base+"/big.bin", "Range", "bytes=1000-"); !bytes.Equal(body, big[1000:]) {
		t.Fatalf("range under strace: %d bytes", len(body))
	}
	stdin.Close()
	_ = cmd.Wait()
	out, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var sent int64
	for _, m := range sendfileRE.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		sent += n
	}
	// net/http writes the first 512 bytes of each body itself (to sniff
	// and to learn the source is readable), then hands over to sendfile.
	if want := int64(2*len(big) - 1000 - 2*sniffLen); sent < want {
		t.Errorf("sendfile sent %d bytes, want at least %d; trace:\n%.2000s", sent, want, out)
	}
}

// TestHeaderLimit: a request header over the bound is refused with 431
// and the server goes on.
func TestHeaderLimit(t *testing.T) {
	ts := startFixture(t)
	resp, _ := doRequest(t, "GET", ts.URL+"/hello.txt", "X-Big", strings.Repeat("a", maxHeaderBytes+8192))
	if resp.StatusCode != 431 {
		t.Errorf("oversized header: %d, want 431", resp.StatusCode)
	}
	if resp, _ := doRequest(t, "GET", ts.URL+"/hello.txt"); resp.StatusCode != 200 {
		t.Errorf("after an oversized header: %d", resp.StatusCode)
	}
}

// TestIdleKeepAliveClosed: a kept-alive connection left idle is closed
// by the server after the idle time-out.
func TestIdleKeepAliveClosed(t *testing.T) {
	ts := startServer(t, shareView(t, fixture.dir, false), func(s *Server) {
		s.srv.IdleTimeout = time.Second
	})
	conn, err := net.DialTimeout("tcp", ts.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /hello.txt HTTP/1.1\r\nHost: %s\r\n\r\n", ts.Addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF from the server", err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("closed after %v, before the idle time-out", waited)
	}
}

// TestStalledReaderDropped: a client that stops reading a download is
// dropped once a write makes no progress for the stall time, for a file
// sent with sendfile and for a stream; the server goes on serving.
func TestStalledReaderDropped(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 64<<20)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), func(s *Server) { s.writeStall = time.Second })
	for _, rng := range []string{"", "Range: bytes=10-\r\n"} {
		c, err := net.Dial("tcp", ts.Addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", rng)
		time.Sleep(3 * time.Second) // read nothing: the server's writes stall
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.Copy(io.Discard, c)
		c.Close()
		if err != nil {
			t.Fatalf("%q: the server kept the stalled connection: %v", rng, err)
		}
		if got >= int64(len(big)) {
			t.Errorf("%q: %d bytes arrived; want the download cut", rng, got)
		}
	}
	// The server goes on serving: a small part, since a whole 64 MiB
	// under a 1 s stall would time a loaded (or -race) test client.
	if resp, body := doRequest(t, "GET", ts.URL+"/big.bin", "Range", "bytes=0-65535"); resp.StatusCode != 206 || len(body) != 65536 {
		t.Errorf("after the stalls: %d, %d bytes", resp.StatusCode, len(body))
	}
}
