package httpshare

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPipelinedSmallResponsesStalled: a client that pipelines thousands
// of requests for a small file and reads nothing is dropped once the
// server's writes make no progress for the stall time (issue 9, finding
// 7); before, the small responses had no deadline at all.
func TestPipelinedSmallResponsesStalled(t *testing.T) {
	const stall = 300 * time.Millisecond
	ts := startServer(t, shareView(t, fixture.dir, false), func(s *Server) { s.writeStall = stall })
	// A small receive window, so the responses fill the kernel's buffers
	// after a few megabytes.
	c := dialSmallWindow(t, "127.0.4.1", ts.Addr)
	const count = 60_000
	reqs := strings.Repeat("GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", count)
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.WriteString(c, reqs) // blocks once the server stops reading
	}()
	waitQuiet(t, ts, 4*stall) // the server fills the buffers, then stalls
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept a client that read nothing (%d bytes read later)", n)
	}
	if full := int64(count * 250); n >= full {
		t.Errorf("%d bytes arrived; want the connection cut well before all %d responses", n, count)
	}
	if resp, body := doRequest(t, "GET", ts.URL+"/hello.txt"); resp.StatusCode != 200 || string(body) != "hello world\n" {
		t.Errorf("after the stall: %d %q", resp.StatusCode, body)
	}
}

// waitQuiet waits until ts has logged no request for quiet, for at most
// 30 s: slow machines (or -race) take a while to answer thousands.
func waitQuiet(t *testing.T, ts *testServer, quiet time.Duration) {
	t.Helper()
	last := -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		n := strings.Count(ts.logs.String(), "\n")
		if n == last {
			return
		}
		last = n
		time.Sleep(quiet)
	}
	t.Fatal("the server kept answering for 30 s")
}
