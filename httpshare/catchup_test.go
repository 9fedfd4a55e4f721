package httpshare

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/cardcrypt"
	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// hugeFolder makes a folder holding one sparse 64 GiB file, huge.img:
// minutes of hashing or encrypting, for nothing on disk.
func hugeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "huge.img"), 64<<30)
	return dir
}

// askAndLeave sends one request from the loopback address from, reads
// its status line and headers (they must come long before the work
// behind them is done), waits until the server is busy with it, then
// leaves: after a pipelined byte (which keeps net/http from noticing)
// when pipelined is set. The server must then stop working for it, and
// log the request as ended.
func askAndLeave(t *testing.T, ts *testServer, from, target, extra string, want int, pipelined bool) {
	t.Helper()
	c := dialFrom(t, from, ts.Addr)
	start := testutil.CPUTime(t)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", target, extra)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: no status line and headers within 10 s: %v", target, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s: %s, want %d", target, resp.Status, want)
	}
	// The work goes on after the headers: the test means something.
	deadline := time.Now().Add(10 * time.Second)
	for testutil.CPUTime(t)-start < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the server did not start working", target)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pipelined {
		_, _ = io.WriteString(c, "G")
		time.Sleep(100 * time.Millisecond)
	}
	c.Close()
	time.Sleep(700 * time.Millisecond) // watchClient looks every 250 ms
	before := testutil.CPUTime(t)
	time.Sleep(700 * time.Millisecond)
	if used := testutil.CPUTime(t) - before; used > 200*time.Millisecond {
		t.Errorf("%s: %v of CPU in 0.7 s, from 0.7 s after its client had gone", target, used)
	}
	for !loggedFrom(ts.logs.String(), from, target) {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("%s: its handler had not ended 5 s after the client left:\n%s", target, ts.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loggedFrom reports whether logs hold the access event of target from
// client.
func loggedFrom(logs, client, target string) bool {
	path, query, _ := strings.Cut(target, "?")
	for line := range strings.Lines(logs) {
		if strings.Contains(line, fmt.Sprintf(`"client":%q`, client)) && strings.Contains(line, fmt.Sprintf(`"path":%q`, path)) &&
			(query == "" || strings.Contains(line, fmt.Sprintf(`"query":%q`, query))) {
			return true
		}
	}
	return false
}

// TestFarRangeStopsWhenClientLeaves: an encrypted file's first range
// far into it (a catch-up that encrypts 60 GB before the first byte)
// gets its status line and headers at once, one range or several, and
// the catch-up stops when the client leaves, also behind a pipelined
// byte.
func TestFarRangeStopsWhenClientLeaves(t *testing.T) {
	ts := startServer(t, encryptingView(t, shareView(t, hugeFolder(t), false)), nil)
	askAndLeave(t, ts, "127.0.9.1", "/huge.img.gpg", "Range: bytes=60000000000-\r\n", http.StatusPartialContent, false)
	askAndLeave(t, ts, "127.0.9.3", "/huge.img.gpg", "Range: bytes=0-9,40000000000-40000000009,60000000000-60000000009\r\n", http.StatusPartialContent, false)
	if !netutil.CanSeePeerGone {
		return
	}
	askAndLeave(t, ts, "127.0.9.2", "/huge.img.gpg", "Range: bytes=50000000000-50000000099\r\n", http.StatusPartialContent, true)
}

// TestSeveralRangesCloseAfterRead: with several ranges http.ServeContent
// reads the file from its own goroutine, which can be in a far part's
// catch-up when the handler returns (its client gone mid-write). The
// file's Close must wait for that read, once stop has ended it, and not
// run under it; reads after the close fail. (Run with -race.)
func TestSeveralRangesCloseAfterRead(t *testing.T) {
	v := encryptingView(t, shareView(t, hugeFolder(t), false))
	f, err := v.Open("huge.img.gpg")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/huge.img.gpg", nil)
	r.Header.Set("Range", "bytes=0-9,60000000000-60000000009")
	_, bound, stop := bindToClient(httptest.NewRecorder(), r, f)
	rs := bound.(io.ReadSeeker)
	if _, err := rs.Seek(60000000000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := rs.Read(make([]byte, 10))
		read <- err
	}()
	time.Sleep(200 * time.Millisecond) // well into the catch-up
	stop()
	if err := bound.Close(); err != nil {
		t.Fatal(err)
	}
	// Closed under it, the read would end on the close, not on stop.
	select {
	case err := <-read:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the far read ended with %v, want its client gone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the far read went on after stop")
	}
	if _, err := rs.Read(make([]byte, 10)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
}

// TestSeveralRangesClientHangsUp: clients that hang up in the first of
// several ranges, with a far one next, leave the server serving (run
// with -race: the file was closed under the read of the next part).
func TestSeveralRangesClientHangsUp(t *testing.T) {
	ts := startServer(t, encryptingView(t, shareView(t, hugeFolder(t), false)), nil)
	for range 3 {
		c := dialFrom(t, "127.0.9.30", ts.Addr)
		fmt.Fprintf(c, "GET /huge.img.gpg HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-999999999,60000000000-60000000009\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("several ranges: %v %v", resp, err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 4<<20); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).SetLinger(0) // a reset: the server's next write fails
		c.Close()
	}
	resp, err := http.Get("http://" + ts.Addr + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the hang-ups: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestSlowAnswersStartAtOnce: a signature or SHA256SUMS over a big file
// (minutes of hashing) sends its status line and headers first, and the
// hashing stops when the client leaves.
func TestSlowAnswersStartAtOnce(t *testing.T) {
	ts := startServer(t, shareView(t, hugeFolder(t), false), func(s *Server) { s.opts.Signer = &digestSigner{} })
	for i, target := range []string{"/huge.img?sig", "/?sha256&sig", "/?sha256"} {
		askAndLeave(t, ts, fmt.Sprintf("127.0.9.%d", 10+i), target, "", http.StatusOK, false)
	}
	if netutil.CanSeePeerGone {
		askAndLeave(t, ts, "127.0.9.20", "/huge.img?sig", "", http.StatusOK, true)
	}
}

// TestSignatureCutWhenItFails: a signature that fails after its headers
// went out (hashing outlasted headersAfter) ends in a cut response, never
// a 200 with a body that is no signature.
func TestSignatureCutWhenItFails(t *testing.T) {
	ts := startServer(t, shareView(t, hugeFolder(t), false), func(s *Server) { s.opts.Signer = &slowFailingSigner{} })
	c := dialFrom(t, "127.0.9.30", ts.Addr)
	fmt.Fprintf(c, "GET /huge.img?sig HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status: %v %v", resp, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("a failed signature ended as a whole response: %q", body)
	}
}

// slowFailingSigner fails after longer than headersAfter.
type slowFailingSigner struct{ digestSigner }

func (*slowFailingSigner) SignFile(ctx context.Context, client netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error) {
	time.Sleep(2 * headersAfter)
	return nil, sharefs.Entry{}, cardcrypt.ErrSignUnavailable
}
