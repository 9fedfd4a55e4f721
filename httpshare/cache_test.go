package httpshare

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"example.com/share/cardcrypt"
	"example.com/share/sharefs"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

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

// encryptingView wraps dir in cardcrypt's encrypting view, to a key made
// here (no card, no GnuPG needed to list).
func encryptingView(t *testing.T, dir *sharefs.Dir) sharefs.View {
	t.Helper()
	ent, err := openpgp.NewEntity("listing test", "", "listing@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ent.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := cardcrypt.LoadRecipientFile(p)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cardcrypt.NewEncryptor([]*cardcrypt.Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	return enc.View(dir)
}

// TestListingFollowsChanges: every change to a folder shows in the very
// next listing (no waiting: the view's change notification is exact),
// for the plain view and the encrypting one; while nothing changes, the
// listing is rendered once.
func TestListingFollowsChanges(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			var view sharefs.View = shareView(t, dir, false)
			suffix := ""
			if encrypted {
				view, suffix = encryptingView(t, view.(*sharefs.Dir)), ".gpg"
			}
			ts := startServer(t, view, nil)
			url := ts.URL + "/sub/"
			now := func(what string, cond func(map[string]int64) bool) {
				t.Helper()
				if m := listNames(t, url); !cond(m) {
					t.Fatalf("after %s the listing shows %v", what, m)
				}
			}
			now("nothing", func(m map[string]int64) bool { return len(m) == 0 })
			first := ts.cache.folders["sub"]
			listNames(t, url)
			if again := ts.cache.folders["sub"]; again != first || len(first.bodies) != 1 {
				t.Errorf("an unchanged folder was rendered again")
			}
			p := filepath.Join(dir, "sub", "new.txt")
			if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
				t.Fatal(err)
			}
			now("a new file", func(m map[string]int64) bool { _, ok := m["new.txt"+suffix]; return ok })
			size := listNames(t, url)["new.txt"+suffix]
			// Growing a file changes no folder time: only the event tells.
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.Write([]byte("defg"))
			f.Close()
			now("a write", func(m map[string]int64) bool { return m["new.txt"+suffix] == size+4 })
			if err := os.Rename(p, filepath.Join(dir, "sub", "renamed.txt")); err != nil {
				t.Fatal(err)
			}
			now("a rename", func(m map[string]int64) bool {
				_, old := m["new.txt"+suffix]
				_, ok := m["renamed.txt"+suffix]
				return !old && ok
			})
			if err := os.Remove(filepath.Join(dir, "sub", "renamed.txt")); err != nil {
				t.Fatal(err)
			}
			now("a removal", func(m map[string]int64) bool { return len(m) == 0 })
			// The folder replaced by another of the same name.
			if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "old")); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "sub", "inside"), 0o755); err != nil {
				t.Fatal(err)
			}
			now("a new folder", func(m map[string]int64) bool { _, ok := m["inside"]; return ok })
			if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
				t.Fatal(err)
			}
			if r, _ := doRequest(t, "GET", url); r.StatusCode != 404 {
				t.Errorf("removed folder: %d", r.StatusCode)
			}
		})
	}
}

// checkCacheBytes checks that the cache counts exactly the renderings it
// keeps, within its bound.
func checkCacheBytes(t *testing.T, c *listingCache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum int64
	for _, r := range c.folders {
		r.mu.Lock()
		for _, b := range r.bodies {
			sum += int64(len(b.data))
		}
		r.mu.Unlock()
	}
	if sum != c.bytes || c.bytes > cacheMaxBytes {
		t.Errorf("cache keeps %d bytes, counts %d; bound %d", sum, c.bytes, cacheMaxBytes)
	}
}

// TestListingCacheBounded: many folders, every variant of each, stay
// within the byte bound.
func TestListingCacheBounded(t *testing.T) {
	old := cacheMaxBytes
	cacheMaxBytes = 64 << 10
	t.Cleanup(func() { cacheMaxBytes = old })
	dir := t.TempDir()
	for i := range 40 {
		for j := range 30 {
			p := filepath.Join(dir, fmt.Sprint("d", i), fmt.Sprintf("file-%03d.txt", j))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	for i := range 40 {
		for _, q := range []string{"", "?sort=size", "?format=json"} {
			for _, enc := range []string{"", "gzip"} {
				resp, body := doRequest(t, "GET", fmt.Sprintf("%s/d%d/%s", ts.URL, i, q), "Accept-Encoding", enc)
				if resp.StatusCode != 200 || len(body) == 0 {
					t.Fatalf("d%d %q %q: %d", i, q, enc, resp.StatusCode)
				}
			}
		}
		checkCacheBytes(t, ts.cache)
	}
}

// TestListingCacheBigFolder: a folder whose renderings alone overflow
// the byte bound keeps what fits, and a rendering over half the bound
// is served but not kept.
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
			checkCacheBytes(t, ts.cache)
		}
	}
}

// TestBigPageKeptCompressed: a page too big to keep whole is kept as
// gzip only; a client without gzip gets it inflated, byte for byte the
// page, with its own tag and length, and revalidates with that tag.
func TestBigPageKeptCompressed(t *testing.T) {
	old := cacheMaxBytes
	cacheMaxBytes = 64 << 10
	t.Cleanup(func() { cacheMaxBytes = old })
	dir := t.TempDir()
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%04d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	plainResp, page := doRequest(t, "GET", ts.URL+"/")
	gzResp, gz := doRequest(t, "GET", ts.URL+"/", "Accept-Encoding", "gzip")
	if plainResp.StatusCode != 200 || gzResp.StatusCode != 200 || gzResp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("plain %d, gzip %d %q", plainResp.StatusCode, gzResp.StatusCode, gzResp.Header.Get("Content-Encoding"))
	}
	if int64(len(page)) <= cacheMaxBytes/2 || plainResp.ContentLength != int64(len(page)) {
		t.Fatalf("page of %d bytes (Content-Length %d): not a big page", len(page), plainResp.ContentLength)
	}
	if !bytes.Contains(page, []byte("file-0999.txt")) || !bytes.HasSuffix(page, []byte("</html>\n")) {
		t.Fatal("the inflated page is not whole")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if inflated, err := io.ReadAll(zr); err != nil || !bytes.Equal(inflated, page) {
		t.Fatalf("gzip body is not the page: %v", err)
	}
	tag := plainResp.Header.Get("ETag")
	if tag == "" || tag == gzResp.Header.Get("ETag") {
		t.Fatalf("page tag %q, gzip tag %q: want two different tags", tag, gzResp.Header.Get("ETag"))
	}
	if resp, _ := doRequest(t, "GET", ts.URL+"/", "If-None-Match", tag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation with the page's tag: %d", resp.StatusCode)
	}
	ts.cache.mu.Lock()
	r := ts.cache.folders[""]
	ts.cache.mu.Unlock()
	r.mu.Lock()
	kept := len(r.bodies)
	_, gzKept := r.bodies[variant{format: formatHTML, order: defaultOrder, gzip: true}]
	r.mu.Unlock()
	if kept != 1 || !gzKept {
		t.Fatalf("kept %d renderings (gzip among them: %v); want the gzip one only", kept, gzKept)
	}
	checkCacheBytes(t, ts.cache)
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
	if m := listNames(t, ts.URL+"/"); len(m) != len(entries) {
		t.Errorf("once the changes stopped the listing shows %d entries, the folder holds %d", len(m), len(entries))
	}
}

// TestRenderingLetsListingGo: a kept rendering does not hold the view's
// listing it was made from once the view has let it go, as that memory
// is in no cache's budget (a 200,000-file folder's listing is 30 MB).
func TestRenderingLetsListingGo(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d.txt", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	if resp, _ := doRequest(t, "GET", ts.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("listing: %d", resp.StatusCode)
	}
	old, err := ts.cache.view.List("")
	if err != nil {
		t.Fatal(err)
	}
	first := weak.Make(&old[0])
	old = nil
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		now, err := ts.cache.view.List("")
		if err != nil {
			t.Fatal(err)
		}
		if len(now) == 51 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the view did not see the new file")
		}
	}
	ts.cache.mu.Lock()
	kept := len(ts.cache.folders)
	ts.cache.mu.Unlock()
	runtime.GC()
	runtime.GC()
	if kept != 1 || first.Value() != nil {
		t.Errorf("%d renderings kept; the old listing still in memory: %v", kept, first.Value() != nil)
	}
}
