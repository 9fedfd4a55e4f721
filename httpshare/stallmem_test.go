package httpshare

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// TestStalledDownloadsPinLittle: downloads at the header limits whose
// clients stop reading (the bulk of issue 9's hostile load) hold little
// heap each while they stall: no copy buffer of net/http's and no header
// fields, only the connection itself.
func TestStalledDownloadsPinLittle(t *testing.T) {
	stalled := headerRequest("/big.img", maxHeaderFields-1, maxHeaderBytes) // with its pad: at both limits
	per := stalledHeap(t, nil, "/big.img", "bytes=0-0", "127.0.11.", func(int) (string, int) { return stalled, 200 })
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
	enc, _ := softwareEncryptor(t)
	per := stalledHeap(t, enc.View, "/big.img.gpg", "bytes=300000-300000", "127.0.13.", func(i int) (string, int) {
		if i%2 == 1 { // from an offset: a catch-up, then the Read path
			return fmt.Sprintf("GET /big.img.gpg HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=%d-\r\n\r\n", 300000+i), 206
		}
		return "GET /big.img.gpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200
	})
	t.Logf("%d KiB of heap per stalled encrypted download", per>>10)
	if per > 48<<10 {
		t.Errorf("%d KiB of heap per stalled encrypted download; want at most 48 KiB", per>>10)
	}
}

// stalledHeap serves a sparse 1 GiB big.img (through wrap, unless nil),
// asks target's warm range once, so that what is made once (the MIME
// table) is not counted, then stalls 128 downloads asked by req(i), 64
// from each of two addresses starting with from, and returns the heap
// each holds.
func stalledHeap(t *testing.T, wrap func(sharefs.View) sharefs.View, target, warm, from string, req func(int) (string, int)) int64 {
	t.Helper()
	if !netutil.CanTellRoom {
		t.Skip("the socket's room is known on Linux only")
	}
	const conns = 128
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "big.img"), 1<<30)
	var view sharefs.View = shareView(t, dir, false)
	if wrap != nil {
		view = wrap(view)
	}
	ts := startServer(t, view, nil)
	if resp, _ := doRequest(t, "GET", ts.URL+target, "Range", warm); resp.StatusCode != 206 {
		t.Fatalf("a range of %s: %d", target, resp.StatusCode)
	}
	return testutil.HeapPer(conns, time.Second, func(i int) { // every socket fills and stalls
		r, want := req(i)
		stall(t, ts.Addr, fmt.Sprintf("%s%d", from, 1+i/64), r, want)
	})
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
