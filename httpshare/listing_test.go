package httpshare

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// pageLinks returns the links of a listing page, resolved against base.
func pageLinks(t *testing.T, base string, page []byte) []string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range hrefRE.FindAllSubmatch(page, -1) {
		ref, err := url.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			t.Fatalf("bad link %q: %v", m[1], err)
		}
		out = append(out, b.ResolveReference(ref).String())
	}
	return out
}

func TestListingHTMLLinksRoundTrip(t *testing.T) {
	ts := startFixture(t)
	resp, page := doRequest(t, "GET", ts.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Vary":                   "Accept, Accept-Encoding",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("weak CSP %q", csp)
	}
	if bytes.Contains(page, []byte("<b>bold")) || bytes.Contains(page, []byte("\u202e")) {
		t.Error("a name reached the page unescaped")
	}
	// Every top-level fixture file is linked, and its link fetches its bytes.
	links := pageLinks(t, ts.URL+"/", page)
	found := map[string]bool{}
	for _, link := range links {
		u, _ := url.Parse(link)
		name := strings.TrimPrefix(u.Path, "/")
		want, ok := fixture.files[name]
		if !ok {
			continue
		}
		found[name] = true
		r, body := doRequest(t, "GET", link)
		if r.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Errorf("%q via %s: status %d, body %q", name, link, r.StatusCode, body)
		}
	}
	for _, n := range append(awkwardNames, "hello.txt", "link-inside.txt") {
		if !found[n] {
			t.Errorf("no working link for %q", n)
		}
	}
	for _, hidden := range []string{".hidden.txt", ".hiddendir", "link-outside", "linkdir-outside", "link-relative"} {
		if bytes.Contains(page, []byte(hidden)) {
			t.Errorf("listing shows %q", hidden)
		}
	}
}

func TestListingOrderAndCrumbs(t *testing.T) {
	ts := startFixture(t)
	_, page := doRequest(t, "GET", ts.URL+"/")
	s := string(page)
	order := []string{"a-first-folder/", "empty/", "evil.com/", "sub%20dir/", "Z-last-folder/", "file2.txt", "file10.txt"}
	last := -1
	for _, href := range order {
		i := strings.Index(s, `href="`+href+`"`)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order (at %d, previous %d)", href, i, last)
		}
		last = i
	}
	_, page = doRequest(t, "GET", ts.URL+"/sub%20dir/deeper/")
	s = string(page)
	for _, want := range []string{`<a href="/">`, `<a href="/sub%20dir/">sub dir</a>`, `<strong>deeper</strong>`, `href="x.txt"`, `href="../"`} {
		if !strings.Contains(s, want) {
			t.Errorf("page of /sub dir/deeper/ lacks %s", want)
		}
	}
}

// TestDeepCrumbsBounded: the breadcrumbs of a folder 40 deep name the
// root and the last maxCrumbs ancestors, the others being one "…" link
// to the deepest of them, so the trail grows with the depth, not with
// its square (each link holds its folder's whole path).
func TestDeepCrumbsBounded(t *testing.T) {
	dir := t.TempDir()
	const depth = 40
	if err := os.MkdirAll(filepath.Join(dir, strings.Repeat("ab/", depth)), 0o755); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	resp, page := doRequest(t, "GET", ts.URL+"/"+strings.Repeat("ab/", depth))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s := string(page)
	nav := s[strings.Index(s, `<nav class="crumbs"`):strings.Index(s, "</nav>")]
	folded := depth - 1 - maxCrumbs
	ellipsis := fmt.Sprintf(`<a href="/%s" title="%d folders">…</a>`, strings.Repeat("ab/", folded), folded)
	if !strings.Contains(nav, ellipsis) || strings.Count(nav, "<a ") != 2+maxCrumbs {
		t.Fatalf("crumbs of a folder %d deep: want the root, %s and %d links by name; got %s", depth, ellipsis, maxCrumbs, nav)
	}
	if !strings.Contains(nav, `<a href="/`+strings.Repeat("ab/", depth-1)+`">ab</a><span>/</span><strong>ab</strong>`) {
		t.Fatalf("the parent and the folder itself end the crumbs: %s", nav)
	}
}

func TestListingJSON(t *testing.T) {
	ts := startFixture(t)
	for _, c := range []struct {
		url    string
		accept string
	}{
		{"/?format=json", ""},
		{"/", "application/json"},
	} {
		resp, body := doRequest(t, "GET", ts.URL+c.url, "Accept", c.accept)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type %q", c.url, ct)
		}
		var raw []map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		for _, e := range raw {
			for _, k := range []string{"name", "size", "modified", "is_dir"} {
				if _, ok := e[k]; !ok {
					t.Errorf("entry %v lacks %q", e, k)
				}
			}
		}
		var entries []jsonEntry
		if err := json.Unmarshal(body, &entries); err != nil {
			t.Fatal(err)
		}
		seenFile := false
		for _, e := range entries {
			if _, err := time.Parse(time.RFC3339, e.Modified); err != nil {
				t.Errorf("%q: modified %q: %v", e.Name, e.Modified, err)
			}
			if e.IsDir && seenFile {
				t.Errorf("folder %q after a file", e.Name)
			}
			seenFile = seenFile || !e.IsDir
			if e.Name == "hello.txt" && (e.Size != 12 || e.IsDir) {
				t.Errorf("hello.txt: %+v", e)
			}
			if e.Name == "sub dir" && (!e.IsDir || e.URL != "/sub%20dir/") {
				t.Errorf("sub dir: %+v", e)
			}
		}
		// The url field is exact even for names JSON cannot carry.
		for _, e := range entries {
			if e.IsDir {
				continue
			}
			u, _ := url.PathUnescape(e.URL)
			want, ok := fixture.files[strings.TrimPrefix(u, "/")]
			if !ok {
				t.Errorf("url %q names no fixture file", e.URL)
				continue
			}
			if _, got := doRequest(t, "GET", ts.URL+e.URL); !bytes.Equal(got, want) {
				t.Errorf("%s: wrong bytes", e.URL)
			}
		}
	}
}

func TestListingGzipAndETag(t *testing.T) {
	ts := startFixture(t)
	_, plain := doRequest(t, "GET", ts.URL+"/")
	resp, zipped := doRequest(t, "GET", ts.URL+"/", "Accept-Encoding", "gzip, br")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzip body differs from plain (err %v)", err)
	}
	if r, _ := doRequest(t, "GET", ts.URL+"/", "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent despite q=0")
	}
	tag := resp.Header.Get("ETag")
	r, body := doRequest(t, "GET", ts.URL+"/", "Accept-Encoding", "gzip", "If-None-Match", tag)
	if r.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match on listing: %d", r.StatusCode)
	}
	r, body = doRequest(t, "HEAD", ts.URL+"/")
	if r.StatusCode != 200 || len(body) != 0 || r.Header.Get("Content-Length") != strconv.Itoa(len(plain)) {
		t.Errorf("HEAD listing: %d, %d bytes, length %q", r.StatusCode, len(body), r.Header.Get("Content-Length"))
	}
}
