package httpshare

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// streamView wraps a view so that files cannot seek and, optionally,
// have no known size or fail after some bytes, as an encrypting view's
// streams do.
type streamView struct {
	sharefs.View
	unknownSize bool
	failAfter   int // >0: reads fail after this many bytes
}

func (v streamView) Stat(name string) (sharefs.Entry, error) {
	e, err := v.View.Stat(name)
	if err == nil && v.unknownSize && !e.IsDir {
		e.Size = -1
	}
	return e, err
}

func (v streamView) List(name string) ([]sharefs.Entry, error) {
	entries, err := v.View.List(name)
	for i := range entries {
		if v.unknownSize && !entries[i].IsDir {
			entries[i].Size = -1
		}
	}
	return entries, err
}

func (v streamView) Open(name string) (sharefs.File, error) {
	f, err := v.View.Open(name)
	if err != nil {
		return nil, err
	}
	return &streamFile{r: f, c: f, left: v.failAfter}, nil
}

// streamFile hides Seek and ReadFrom-friendly types.
type streamFile struct {
	r    io.Reader
	c    io.Closer
	left int
}

var errInjected = errors.New("injected read failure")

func (f *streamFile) Read(p []byte) (int, error) {
	if f.left < 0 {
		return 0, errInjected
	}
	if f.left > 0 && len(p) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	if f.left > 0 {
		f.left -= n
		if f.left == 0 {
			f.left = -1
		}
	}
	return n, err
}

func (f *streamFile) Close() error { return f.c.Close() }

func TestStreamKnownSize(t *testing.T) {
	ts := startServer(t, streamView{View: shareView(t, fixture.dir, false)}, nil)
	big := fixture.files["big.bin"]
	resp, body := doRequest(t, "GET", ts.URL+"/big.bin", "Range", "bytes=0-9")
	if resp.StatusCode != 200 || string(body) != string(big) {
		t.Fatalf("status %d, %d bytes; want the whole file, Range ignored", resp.StatusCode, len(body))
	}
	if resp.Header.Get("Accept-Ranges") != "" || resp.Header.Get("ETag") != "" {
		t.Errorf("stream offers ranges or an ETag: %v", resp.Header)
	}
	if resp.Header.Get("Content-Length") != fmt.Sprint(len(big)) || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("headers: %v", resp.Header)
	}
	resp, body = doRequest(t, "HEAD", ts.URL+"/hello.txt")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "12" {
		t.Errorf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestStreamUnknownSize(t *testing.T) {
	ts := startServer(t, streamView{View: shareView(t, fixture.dir, false), unknownSize: true}, nil)
	resp, body := doRequest(t, "GET", ts.URL+"/big.bin")
	if resp.StatusCode != 200 || string(body) != string(fixture.files["big.bin"]) {
		t.Fatalf("%d, %d bytes", resp.StatusCode, len(body))
	}
	if resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" {
		t.Errorf("Content-Length %q for an unknown size", resp.Header.Get("Content-Length"))
	}
	_, page := doRequest(t, "GET", ts.URL+"/")
	if !strings.Contains(string(page), `title="size unknown"`) {
		t.Error("listing does not mark the unknown size")
	}
	_, js := doRequest(t, "GET", ts.URL+"/?format=json")
	var entries []jsonEntry
	if err := json.Unmarshal(js, &entries); err != nil {
		t.Fatal(err)
	}
}

// TestStreamReadFailure: a read failing mid-download cuts the connection
// (the client sees a short body, not a complete one), is logged, and the
// server keeps serving.
func TestStreamReadFailure(t *testing.T) {
	for _, unknown := range []bool{false, true} {
		t.Run(fmt.Sprint("unknownSize=", unknown), func(t *testing.T) {
			ts := startServer(t, streamView{View: shareView(t, fixture.dir, false), failAfter: 100 << 10, unknownSize: unknown}, nil)
			resp, err := client.Get(ts.URL + "/big.bin")
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatalf("download of a failing file ended cleanly after %d bytes", n)
			}
			if r, body := doRequest(t, "GET", ts.URL+"/hello.txt"); r.StatusCode != 200 || len(body) != 12 {
				t.Errorf("server broken after a failed download: %d", r.StatusCode)
			}
			waitForLog(t, ts, "download failed")
		})
	}
}

// waitForLog waits (bounded) until the server's log holds text.
func waitForLog(t *testing.T, ts *testServer, text string) {
	t.Helper()
	for range 100 {
		if strings.Contains(ts.logs.String(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("log lacks %q:\n%s", text, ts.logs.String())
}

func TestAccessLog(t *testing.T) {
	ts := startFixture(t)
	doRequest(t, "GET", ts.URL+"/hello.txt")
	doRequest(t, "GET", ts.URL+"/big.bin", "Range", "bytes=0-99")
	doRequest(t, "DELETE", ts.URL+"/hello.txt")
	doRequest(t, "GET", ts.URL+"/sub%20dir/?format=json")
	type line struct {
		Time      time.Time
		Msg       string
		Client    string
		Proto     string
		Method    string
		Path      string
		Query     string
		Status    int
		Bytes     int64
		Duration  *int64 `json:"duration_ms"`
		Host      string
		UserAgent string `json:"user_agent"`
	}
	want := []line{
		{Method: "GET", Path: "/hello.txt", Status: 200, Bytes: 12},
		{Method: "GET", Path: "/big.bin", Status: 206, Bytes: 100},
		{Method: "DELETE", Path: "/hello.txt", Status: 405},
		{Method: "GET", Path: "/sub dir/", Query: "format=json", Status: 200},
	}
	var got []line
	sc := bufio.NewScanner(strings.NewReader(ts.logs.String()))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if l.Msg == "request" {
			got = append(got, l)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d access lines, want %d:\n%s", len(got), len(want), ts.logs.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.Method || g.Path != w.Path || g.Query != w.Query || g.Status != w.Status || (w.Bytes > 0 && g.Bytes != w.Bytes) ||
			g.Proto != "http" || g.Client != "127.0.0.1" || g.Time.IsZero() || g.Duration == nil ||
			g.Host != strings.TrimPrefix(ts.URL, "http://") || !strings.HasPrefix(g.UserAgent, "Go-http-client") {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestHandlerPanicRecovered: a panic inside a request (here from a view)
// is logged, the client gets a 500, and the server goes on.
func TestHandlerPanicRecovered(t *testing.T) {
	ts := startServer(t, panicView{View: shareView(t, fixture.dir, false)}, nil)
	if r, _ := doRequest(t, "GET", ts.URL+"/boom"); r.StatusCode != http.StatusInternalServerError {
		t.Errorf("panic: status %d", r.StatusCode)
	}
	if r, _ := doRequest(t, "GET", ts.URL+"/hello.txt"); r.StatusCode != 200 {
		t.Errorf("after panic: %d", r.StatusCode)
	}
	waitForLog(t, ts, "handler panic")
}

type panicView struct{ sharefs.View }

func (v panicView) Stat(name string) (sharefs.Entry, error) {
	if name == "boom" {
		panic("view exploded")
	}
	return v.View.Stat(name)
}

// TestFileShrinksDuringDownload: a file truncated while it is being sent
// (sendfile finds no more bytes) ends the connection short of the
// announced length, which the client sees as an error; it is logged and
// the server goes on.
func TestFileShrinksDuringDownload(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "growing.bin")
	if err := os.WriteFile(p, make([]byte, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	resp, err := client.Get(ts.URL + "/growing.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 2<<20); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Fatalf("a shrunk file downloaded cleanly (%d more bytes)", n)
	}
	waitForLog(t, ts, "download ended early")
	if r, _ := doRequest(t, "GET", ts.URL+"/growing.bin"); r.StatusCode != 200 || r.ContentLength != 2<<20 {
		t.Errorf("after: %d, length %d", r.StatusCode, r.ContentLength)
	}
}
