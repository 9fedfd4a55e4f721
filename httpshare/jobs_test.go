package httpshare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/connlimit"
	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
)

// TestFolderSlots: a client holds at most its share, everyone together
// the total; a waiter gets a slot given back within the wait, and is
// refused after it.
func TestFolderSlots(t *testing.T) {
	s := newFolderSlots(3, 2, 300*time.Millisecond)
	ctx := context.Background()
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	take := func(ip netip.Addr) func() {
		t.Helper()
		release, err := s.acquire(ctx, ip)
		if err != nil {
			t.Fatalf("acquire(%s): %v", ip, err)
		}
		return release
	}
	relA := take(a)
	take(a)
	var r *connlimit.Refusal
	if _, err := s.acquire(ctx, a); !errors.As(err, &r) || !strings.Contains(err.Error(), "your address") {
		t.Fatalf("a third slot for one client: %v", err)
	}
	take(b)
	if _, err := s.acquire(ctx, b); !errors.As(err, &r) {
		t.Fatalf("over the total: %v", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		relA()
		relA() // twice gives back once
	}()
	take(b) // woken by the slot given back
	if _, err := s.acquire(ctx, b); err == nil {
		t.Fatal("a slot given back twice")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.acquire(canceled, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with a context gone: %v", err)
	}
}

// jobsFolder makes a folder whose archive is far bigger than the socket
// buffers, so a client that does not read keeps its job waiting.
func jobsFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, 32<<20)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "data.zip"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dialSmallWindow connects from the loopback address from with a small
// receive buffer, so a server writing to it blocks soon.
func dialSmallWindow(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c, err := testutil.SmallWindow(from).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startStalledJob asks for /?zip from from and reads only the status:
// the job then holds its slot, blocked on writing.
func startStalledJob(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c := dialSmallWindow(t, from, addr)
	fmt.Fprintf(c, "GET /?zip HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("stalled job from %s: %q %v", from, line, err)
	}
	return c
}

// getFrom sends one GET from the loopback address from and returns the
// response with its body read.
func getFrom(t *testing.T, from, url, accept string) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestFolderJobsBusy: a client that never reads its archives holds at
// most its share of the slots; once every slot is held, others get a
// 503 with Retry-After after the short wait (a page for browsers, text
// for the rest), and a slot comes back when its client goes.
func TestFolderJobsBusy(t *testing.T) {
	ts := startServer(t, shareView(t, jobsFolder(t), false), nil)
	first := startStalledJob(t, "127.0.6.1", ts.Addr)
	startStalledJob(t, "127.0.6.1", ts.Addr)
	start := time.Now()
	resp, body := getFrom(t, "127.0.6.1", ts.URL+"/?tar.gz", "*/*")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Fatalf("a third job for one client: %d %q %q", resp.StatusCode, resp.Header, body)
	}
	if waited := time.Since(start); waited < folderJobWait {
		t.Errorf("refused after %v, before the wait of %v", waited, folderJobWait)
	}
	startStalledJob(t, "127.0.6.2", ts.Addr) // another client still gets its share
	startStalledJob(t, "127.0.6.2", ts.Addr)
	resp, body = getFrom(t, "127.0.6.3", ts.URL+"/?sha256", "text/html,*/*")
	if resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "busy") || resp.Header.Get("Content-Disposition") != "" {
		t.Fatalf("every slot held, a browser: %d %q %q", resp.StatusCode, resp.Header, body)
	}
	if !strings.Contains(body, `<nav class="crumbs"`) || !strings.Contains(body, `<a href="/">Go to /</a>`) {
		t.Errorf("the busy page is not in the page's style with a way back:\n%.600s", body)
	}
	first.Close() // its job fails its next write or is seen gone, and gives its slot back
	resp, body = getFrom(t, "127.0.6.3", ts.URL+"/?sha256", "*/*")
	if resp.StatusCode != 200 || !strings.Contains(body, "data.zip") {
		t.Fatalf("after a client left: %d %q", resp.StatusCode, body)
	}
}

// TestSumsStopWhenClientLeaves: a ?sha256 whose client sent one byte
// more (the start of a pipelined request) and left stops hashing within
// a moment (issue 9, finding 6); net/http alone never cancels it.
func TestSumsStopWhenClientLeaves(t *testing.T) {
	if !netutil.CanSeePeerGone {
		t.Skip("this OS cannot see a client gone behind a pipelined byte")
	}
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "huge.img"), 64<<30) // minutes of hashing
	ts := startServer(t, shareView(t, dir, false), nil)
	c := dialFrom(t, "127.0.7.1", ts.Addr)
	fmt.Fprintf(c, "GET /?sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	time.Sleep(500 * time.Millisecond) // hashing has started
	// net/http's background read takes this byte as the next request's
	// start and stops reading: it will not see the close.
	io.WriteString(c, "G")
	time.Sleep(100 * time.Millisecond)
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ts.logs.String(), `"msg":"folder download failed"`) {
		if time.Now().After(deadline) {
			t.Fatalf("still hashing 10 s after the client left:\n%s", ts.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(ts.logs.String(), "context canceled") {
		t.Errorf("the job ended for another reason:\n%s", ts.logs.String())
	}
}
