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
		c, err := testutil.SmallWindow(fmt.Sprintf("127.0.11.%d", 1+i/64)).Dial("tcp", ts.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, stalled); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 16), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", i, resp, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // every socket fills and stalls
	per := (heapInUse() - before) / conns
	t.Logf("%d KiB of heap per stalled download at the header limits", per>>10)
	if per > 36<<10 {
		t.Errorf("%d KiB of heap per stalled download; want at most 36 KiB", per>>10)
	}
}
