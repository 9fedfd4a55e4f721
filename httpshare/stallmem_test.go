package httpshare

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
)

// TestStalledDownloadsPinLittle: downloads at the header limits whose
// clients stop reading (the bulk of issue 9's hostile load) hold little
// heap each while they stall: no copy buffer of net/http's and no header
// fields, only the connection itself.
func TestStalledDownloadsPinLittle(t *testing.T) {
	if !netutil.CanSeePeerGone { // Linux: where SendRoom can tell
		t.Skip("the socket's room is known on Linux only")
	}
	const conns = 128 // 64 per client address
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "big.img"), 1<<30)
	ts := startServer(t, shareView(t, dir, false), nil)
	stalled := headerRequest("/big.img", maxHeaderFields-1, maxHeaderBytes) // with its pad: at both limits
	// Once first, so that what is made once (the MIME table) is not counted.
	if resp, _ := doRequest(t, "GET", ts.URL+"/big.img", "Range", "bytes=0-0"); resp.StatusCode != 206 {
		t.Fatalf("a range of big.img: %d", resp.StatusCode)
	}
	before := heapInUse()
	for i := range conns {
		stall(t, ts.Addr, fmt.Sprintf("127.0.11.%d", 1+i/64), stalled, 200)
	}
	time.Sleep(500 * time.Millisecond) // every socket fills and stalls
	per := (heapInUse() - before) / conns
	t.Logf("%d KiB of heap per stalled download at the header limits", per>>10)
	if per > 36<<10 {
		t.Errorf("%d KiB of heap per stalled download; want at most 36 KiB", per>>10)
	}
}

// TestStalledEncryptedDownloadsPinLittle: encrypted downloads whose
// clients stop reading, whole (the pipeline) and from an offset (a
// catch-up, then reads), hold little heap each while they stall: no
// chunk of the encryption, only the connection and the stream.
func TestStalledEncryptedDownloadsPinLittle(t *testing.T) {
	if !netutil.CanSeePeerGone { // Linux: where SendRoom can tell
		t.Skip("the socket's room is known on Linux only")
	}
	const conns = 128 // 64 per client address
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "big.img"), 1<<30)
	enc, _ := softwareEncryptor(t)
	ts := startServer(t, enc.View(shareView(t, dir, false)), nil)
	// Once first, so that what is made once is not counted.
	if resp, _ := doRequest(t, "GET", ts.URL+"/big.img.gpg", "Range", "bytes=300000-300000"); resp.StatusCode != 206 {
		t.Fatalf("a range of big.img.gpg: %d", resp.StatusCode)
	}
	before := heapInUse()
	for i := range conns {
		req, want := "GET /big.img.gpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200
		if i%2 == 1 { // from an offset: a catch-up, then the Read path
			req, want = fmt.Sprintf("GET /big.img.gpg HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=%d-\r\n\r\n", 300000+i), 206
		}
		stall(t, ts.Addr, fmt.Sprintf("127.0.13.%d", 1+i/64), req, want)
	}
	time.Sleep(time.Second) // every socket fills and stalls
	runtime.GC()            // chunks idle in the pool go at the second collection
	per := (heapInUse() - before) / conns
	t.Logf("%d KiB of heap per stalled encrypted download", per>>10)
	if per > 48<<10 {
		t.Errorf("%d KiB of heap per stalled encrypted download; want at most 48 KiB", per>>10)
	}
}

// stall sends req from a client at from with a small receive window,
// checks the status line, and then never reads: the download stalls.
func stall(t *testing.T, addr, from, req string, want int) {
	t.Helper()
	c, err := testutil.SmallWindow(from).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 16), nil)
	if err != nil || resp.StatusCode != want {
		t.Fatalf("from %s: %v %v", from, resp, err)
	}
}
