package httpshare

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// openCountingView counts Open calls.
type openCountingView struct {
	sharefs.View
	opens *atomic.Int64
}

func (v openCountingView) Open(name string) (sharefs.File, error) {
	v.opens.Add(1)
	return v.View.Open(name)
}

// writeAged writes a file and dates it age ago.
func writeAged(t *testing.T, p, content string, age time.Duration) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestSmallFileCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "note.txt")
	writeAged(t, p, "first version\n", time.Hour)
	opens := &atomic.Int64{}
	ts := startServer(t, openCountingView{View: shareView(t, dir, false), opens: opens}, nil)
	expect := func(what, body string, wantOpens int64) {
		t.Helper()
		resp, got := doRequest(t, "GET", ts.URL+"/note.txt")
		if resp.StatusCode != 200 || string(got) != body {
			t.Errorf("%s: %d %q, want %q", what, resp.StatusCode, got, body)
		}
		if n := opens.Load(); n != wantOpens {
			t.Errorf("%s: %d opens, want %d", what, n, wantOpens)
		}
	}
	expect("first read", "first version\n", 1)
	expect("from memory", "first version\n", 1)

	// Same size, rewritten in place: the new time shows the change.
	writeAged(t, p, "other version\n", 30*time.Minute)
	expect("rewritten", "other version\n", 2)
	expect("rewritten, from memory", "other version\n", 2)

	// Replaced by another file with the very same size and time.
	q := filepath.Join(dir, "next.tmp")
	writeAged(t, q, "third version\n", 30*time.Minute)
	info, _ := os.Stat(p)
	if err := os.Chtimes(q, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	expect("replaced", "third version\n", 3)

	// Ranges, preconditions and HEAD from memory.
	resp, got := doRequest(t, "GET", ts.URL+"/note.txt", "Range", "bytes=-8")
	if resp.StatusCode != 206 || string(got) != "version\n" || resp.Header.Get("Content-Range") != "bytes 6-13/14" {
		t.Errorf("range from memory: %d %q %q", resp.StatusCode, got, resp.Header.Get("Content-Range"))
	}
	tag := resp.Header.Get("ETag")
	if resp, _ := doRequest(t, "GET", ts.URL+"/note.txt", "If-None-Match", tag); resp.StatusCode != 304 {
		t.Errorf("If-None-Match from memory: %d", resp.StatusCode)
	}
	resp, got = doRequest(t, "HEAD", ts.URL+"/note.txt")
	if resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != 14 || resp.Header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("HEAD from memory: %d %v", resp.StatusCode, resp.Header)
	}
	if n := opens.Load(); n != 3 {
		t.Errorf("%d opens after ranges and HEAD, want 3", n)
	}

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if resp, _ := doRequest(t, "GET", ts.URL+"/note.txt"); resp.StatusCode != 404 {
		t.Errorf("removed file: %d", resp.StatusCode)
	}

	// A file written just now is not cached: a second write within the
	// same time tick could go unnoticed.
	writeAged(t, p, "fresh\n", 0)
	expect("fresh", "fresh\n", 4)
	expect("fresh again", "fresh\n", 5)
}

func TestSmallFileCacheBounded(t *testing.T) {
	old := smallCacheMax
	smallCacheMax = 100
	t.Cleanup(func() { smallCacheMax = old })
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		writeAged(t, filepath.Join(dir, n), string(make([]byte, 40)), time.Hour)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	for _, n := range []string{"a", "b", "c", "d", "a"} {
		if resp, body := doRequest(t, "GET", ts.URL+"/"+n); resp.StatusCode != 200 || len(body) != 40 {
			t.Fatalf("%s: %d", n, resp.StatusCode)
		}
	}
	c := ts.small
	c.mu.RLock()
	defer c.mu.RUnlock()
	var sum int64
	for _, f := range c.files {
		sum += int64(len(f.data))
	}
	if c.bytes > smallCacheMax || sum != c.bytes || c.files["a"] == nil {
		t.Errorf("%d bytes in %d files (counted %d), bound %d", sum, len(c.files), c.bytes, smallCacheMax)
	}
}
