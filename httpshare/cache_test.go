package httpshare

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// countingView counts List calls; with path set it exposes Path, so the
// cache can watch the folder with inotify.
type countingView struct {
	sharefs.View
	lists *atomic.Int64
}

func (v countingView) List(name string) ([]sharefs.Entry, error) {
	v.lists.Add(1)
	return v.View.List(name)
}

// watchableView is a countingView that tells its folder's path.
type watchableView struct {
	countingView
	path string
}

func (v watchableView) Path() string { return v.path }

// listNames fetches the JSON listing of folder url and maps name→size.
func listNames(t *testing.T, url string) map[string]int64 {
	t.Helper()
	resp, body := doRequest(t, "GET", url+"?format=json")
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	var entries []jsonEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range entries {
		out[e.Name] = e.Size
	}
	return out
}

// eventually polls (bounded) until cond holds on the folder's listing.
func eventually(t *testing.T, url, what string, cond func(map[string]int64) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		names := listNames(t, url)
		if cond(names) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing never showed %s: %v", what, names)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestListingCacheFollowsChanges(t *testing.T) {
	for _, watched := range []bool{true, false} {
		t.Run(fmt.Sprint("inotify=", watched), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			lists := &atomic.Int64{}
			cv := countingView{View: shareView(t, dir, false), lists: lists}
			var view sharefs.View = cv
			if watched {
				view = watchableView{countingView: cv, path: dir}
			}
			ts := startServer(t, view, nil)
			url := ts.URL + "/sub/"
			if n := len(listNames(t, url)); n != 0 {
				t.Fatalf("%d entries in an empty folder", n)
			}
			listNames(t, url)
			doRequest(t, "GET", url)
			doRequest(t, "GET", url, "Accept-Encoding", "gzip")
			if n := lists.Load(); n != 1 {
				t.Errorf("four requests listed the folder %d times, want 1", n)
			}
			if got := ts.cache.watch != nil; got != watched {
				t.Errorf("watcher running: %v, want %v", got, watched)
			}
			p := filepath.Join(dir, "sub", "new.txt")
			if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
				t.Fatal(err)
			}
			eventually(t, url, "the new file", func(m map[string]int64) bool { return m["new.txt"] == 3 })
			// Growing a file changes no folder time: only the event or the TTL tells.
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.Write([]byte("defg"))
			f.Close()
			eventually(t, url, "the new size", func(m map[string]int64) bool { return m["new.txt"] == 7 })
			if err := os.Rename(p, filepath.Join(dir, "sub", "renamed.txt")); err != nil {
				t.Fatal(err)
			}
			eventually(t, url, "the rename", func(m map[string]int64) bool { _, old := m["new.txt"]; return !old && m["renamed.txt"] == 7 })
			if err := os.Remove(filepath.Join(dir, "sub", "renamed.txt")); err != nil {
				t.Fatal(err)
			}
			eventually(t, url, "the removal", func(m map[string]int64) bool { return len(m) == 0 })
			// The folder replaced by another of the same name.
			if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "old")); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "sub", "inside"), 0o755); err != nil {
				t.Fatal(err)
			}
			eventually(t, url, "the new folder", func(m map[string]int64) bool { _, ok := m["inside"]; return ok })
			if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
				t.Fatal(err)
			}
			if r, _ := doRequest(t, "GET", url); r.StatusCode != 404 {
				t.Errorf("removed folder: %d", r.StatusCode)
			}
		})
	}
}

func TestListingCacheBounded(t *testing.T) {
	dir := t.TempDir()
	const folders = cacheMaxFolders + 20
	for i := range folders {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprint("d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	for i := range folders {
		doRequest(t, "GET", fmt.Sprintf("%s/d%d/", ts.URL, i))
	}
	c := ts.cache
	c.mu.Lock()
	cached, watches := len(c.folders), -1
	if c.watch != nil {
		watches = len(c.watch.names)
	}
	c.mu.Unlock()
	if cached > cacheMaxFolders || watches > cacheMaxFolders {
		t.Errorf("%d folders cached, %d watches; bound %d", cached, watches, cacheMaxFolders)
	}
	if watches < 0 {
		t.Error("inotify watcher did not start for a sharefs.Dir")
	}
}

// TestListingCacheBigFolder: a folder whose renderings alone overflow
// the byte bound keeps only the one in use.
func TestListingCacheBigFolder(t *testing.T) {
	old := cacheMaxBytes
	cacheMaxBytes = 32 << 10
	t.Cleanup(func() { cacheMaxBytes = old })
	dir := t.TempDir()
	for i := range 300 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	for _, q := range []string{"", "?sort=size", "?sort=time", "?sort=name&order=desc", "?format=json"} {
		for _, enc := range []string{"", "gzip"} {
			resp, body := doRequest(t, "GET", ts.URL+"/"+q, "Accept-Encoding", enc)
			if resp.StatusCode != 200 || len(body) == 0 {
				t.Fatalf("%q %q: %d", q, enc, resp.StatusCode)
			}
		}
	}
	c := ts.cache
	c.mu.Lock()
	e := c.folders[""]
	total := c.bytes
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	var sum int64
	for _, b := range e.bodies {
		sum += int64(len(b.data))
	}
	if len(e.bodies) > 2 || sum != total {
		t.Errorf("%d renderings kept (%d bytes), cache counts %d bytes", len(e.bodies), sum, total)
	}
}

// TestListingCacheUnderChange: concurrent listings (all variants) while
// the folder changes always answer whole, current-enough pages; run
// with -race this also checks the cache's locking.
func TestListingCacheUnderChange(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, shareView(t, dir, false), nil)
	stop := make(chan struct{})
	changed := make(chan struct{})
	go func() {
		defer close(changed)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(dir, fmt.Sprintf("f%d.txt", i%20))
			if i%3 == 2 {
				_ = os.Remove(p) // may be gone already
			} else {
				_ = os.WriteFile(p, []byte("x"), 0o644)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	queries := []string{"", "?sort=size", "?format=json", "?sort=time&order=desc"}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				q := queries[(g+i)%len(queries)]
				req, _ := http.NewRequest("GET", ts.URL+"/"+q, nil)
				if i%2 == 0 {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || int64(len(body)) != resp.ContentLength {
					errs <- fmt.Sprintf("%s: %d, %d of %d bytes, %v", q, resp.StatusCode, len(body), resp.ContentLength, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-changed
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Once the changes stop, the listing shows the folder as it is.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, ts.URL+"/", "the final state", func(m map[string]int64) bool { return len(m) == len(entries) })
}
