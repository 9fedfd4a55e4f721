package httpshare

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// statCountingView counts Stat calls.
type statCountingView struct {
	*sharefs.Dir
	stats *atomic.Int64
}

func (v statCountingView) Stat(name string) (sharefs.Entry, error) {
	v.stats.Add(1)
	return v.Dir.Stat(name)
}

// TestTrustedSmallFiles checks that a settled small file is served
// without a stat while the view's change notification vouches for it, and that every kind of
// change is seen by the very next request.
func TestTrustedSmallFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	other := filepath.Join(dir, "other")
	for _, d := range []string{sub, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(sub, "note.txt")
	writeAged(t, p, "version 1\n", time.Hour)
	stats := &atomic.Int64{}
	ts := startServer(t, statCountingView{Dir: shareView(t, dir, false), stats: stats}, nil)
	get := func(what, path string, wantStatus int, want string) {
		t.Helper()
		resp, body := doRequest(t, "GET", ts.URL+path)
		if resp.StatusCode != wantStatus || (wantStatus == 200 && string(body) != want) {
			t.Errorf("%s: %d %q, want %d %q", what, resp.StatusCode, body, wantStatus, want)
		}
	}
	// trust makes the file trusted (a request that stats vouches for it,
	// at most every vouchEvery) and checks that requests then skip the stat.
	trust := func(what, body string) {
		t.Helper()
		for range 3 {
			time.Sleep(vouchEvery + 10*time.Millisecond)
			get(what+", vouched", "/sub/note.txt", 200, body)
		}
		before := stats.Load()
		for range 5 {
			get(what+", trusted", "/sub/note.txt", 200, body)
		}
		if n := stats.Load() - before; n != 0 {
			t.Fatalf("%s: %d stats for 5 requests of a trusted file, want 0 (trust unavailable here?)", what, n)
		}
	}
	trust("first", "version 1\n")

	// Rewritten in place, same size, dated in the past.
	writeAged(t, p, "version 2\n", 30*time.Minute)
	get("rewritten in place", "/sub/note.txt", 200, "version 2\n")
	trust("rewritten", "version 2\n")

	// Written through a hard link in another folder.
	link := filepath.Join(other, "link.txt")
	if err := os.Link(p, link); err != nil {
		t.Fatal(err)
	}
	trust("linked", "version 2\n")
	f, err := os.OpenFile(link, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("3"), 8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	get("written through a hard link", "/sub/note.txt", 200, "version 3\n")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}

	// Replaced by another file of the same size and time.
	writeAged(t, p, "version 4\n", time.Hour)
	trust("before replacement", "version 4\n")
	info, _ := os.Stat(p)
	q := filepath.Join(dir, "next.tmp")
	writeAged(t, q, "version 5\n", time.Hour)
	if err := os.Chtimes(q, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	get("replaced", "/sub/note.txt", 200, "version 5\n")

	// Its folder renamed away and another put in its place.
	trust("before the folder moves", "version 5\n")
	if err := os.Rename(sub, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	get("folder moved", "/sub/note.txt", 404, "")
	writeAged(t, p, "version 6\n", time.Hour)
	get("folder replaced", "/sub/note.txt", 200, "version 6\n")

	// Removed.
	trust("before removal", "version 6\n")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	get("removed", "/sub/note.txt", 404, "")

	// A file reached through a symbolic link is trusted too, and the link
	// pointed elsewhere is seen at once: the folders the link's
	// resolution passed through are watched.
	writeAged(t, filepath.Join(other, "target.txt"), "target\n", time.Hour)
	writeAged(t, filepath.Join(other, "second.txt"), "second\n", time.Hour)
	if err := os.Symlink("target.txt", filepath.Join(other, "via-link.txt")); err != nil {
		t.Fatal(err)
	}
	trustAt := func(what, path, body string) {
		t.Helper()
		for range 3 {
			time.Sleep(vouchEvery + 10*time.Millisecond)
			get(what+", vouched", path, 200, body)
		}
		before := stats.Load()
		get(what+", trusted", path, 200, body)
		if stats.Load() != before {
			t.Errorf("%s: not trusted", what)
		}
	}
	trustAt("symbolic link", "/other/via-link.txt", "target\n")
	if err := os.Symlink("second.txt", filepath.Join(other, "next-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(other, "next-link"), filepath.Join(other, "via-link.txt")); err != nil {
		t.Fatal(err)
	}
	get("link pointed elsewhere", "/other/via-link.txt", 200, "second\n")

	// Trust ends after trustMaxAge even without events.
	writeAged(t, p, "version 7\n", time.Hour)
	trust("aged", "version 7\n")
	time.Sleep(trustMaxAge + 50*time.Millisecond)
	before := stats.Load()
	get("after trustMaxAge", "/sub/note.txt", 200, "version 7\n")
	if stats.Load() == before {
		t.Errorf("trust outlived trustMaxAge")
	}
}
