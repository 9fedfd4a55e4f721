package httpshare

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// rangeContent is the file FuzzRange serves: every byte tells its place.
var rangeContent = func() []byte {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte(i*31 + i/256)
	}
	return b
}()

// FuzzRange feeds Range and If-Range headers to serveContent: the answer
// is 200, 206 or 416, every part it sends is exactly the bytes its
// Content-Range names, and no answer holds more than maxRanges parts.
func FuzzRange(f *testing.F) {
	for _, seed := range []string{"bytes=0-0", "bytes=-1", "bytes=10-", "bytes=0-1,5-9", "bytes=-0", "bytes=0-0,-0",
		"bytes=999-2000", "bytes=1000-", "bytes=5-3", "bytes= 1 - 2 ", "bytes=0-1,,2-3", "items=0-1", "bytes=" + strings.Repeat("1-1,", 70)} {
		f.Add(seed, "")
	}
	f.Add("bytes=0-9", `"x"`)
	f.Add("bytes=0-9", "Mon, 02 Jan 2006 15:04:05 GMT")
	entry := sharefs.Entry{Name: "f.bin", Size: int64(len(rangeContent)), ModTime: time.Unix(1_700_000_000, 0)}
	f.Fuzz(func(t *testing.T, rng, ifRange string) {
		req := httptest.NewRequest("GET", "/f.bin", nil)
		req.Header.Set("Range", rng)
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
		rec := httptest.NewRecorder()
		serveContent(rec, req, "f.bin", entry, bytes.NewReader(rangeContent))
		switch rec.Code {
		case http.StatusOK:
			if !bytes.Equal(rec.Body.Bytes(), rangeContent) {
				t.Fatalf("Range %q: 200 with %d bytes", rng, rec.Body.Len())
			}
		case http.StatusPartialContent:
			checkParts(t, rng, rec)
		case http.StatusRequestedRangeNotSatisfiable:
		default:
			t.Fatalf("Range %q: status %d", rng, rec.Code)
		}
	})
}

// checkParts checks a 206: one part, or a multipart/byteranges body of
// at most maxRanges parts, each the bytes its Content-Range names.
func checkParts(t *testing.T, rng string, rec *httptest.ResponseRecorder) {
	mt, params, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		checkPart(t, rng, rec.Header().Get("Content-Range"), rec.Body.Bytes())
		return
	}
	mr := multipart.NewReader(rec.Body, params["boundary"])
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil || n >= maxRanges {
			t.Fatalf("Range %q: part %d: %v", rng, n, err)
		}
		data, _ := io.ReadAll(p)
		checkPart(t, rng, p.Header.Get("Content-Range"), data)
	}
}

// checkPart checks that data is the range "bytes FIRST-LAST/SIZE" names.
func checkPart(t *testing.T, rng, contentRange string, data []byte) {
	spec, ok := strings.CutPrefix(contentRange, "bytes ")
	span, size, ok2 := strings.Cut(spec, "/")
	a, b, ok3 := strings.Cut(span, "-")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil || size != strconv.Itoa(len(rangeContent)) ||
		first > last || last >= len(rangeContent) || !bytes.Equal(data, rangeContent[first:last+1]) {
		t.Fatalf("Range %q: part %q does not hold what it names (%d bytes)", rng, contentRange, len(data))
	}
}

// FuzzFolderQuery feeds query strings to a folder URL of a small folder
// through the whole handler: the answer is a listing (HTML, or JSON that
// parses), one of the folder downloads, or a redirect, never an error,
// and a listing's sort links parse back to the order they show.
func FuzzFolderQuery(f *testing.F) {
	for _, seed := range []string{"", "zip", "tar.gz", "sha256", "format=json", "format=html", "sort=size&order=desc",
		"sort=time", "sort=name&order=asc", "zip&sha256", "%zz", "a=%00&zip=1", "format=json&format=html", ";zip", "sha256&sig"} {
		f.Add(seed, "")
	}
	f.Add("", "application/json")
	f.Add("format=html", "application/json")
	dir := f.TempDir()
	for name, data := range map[string]string{"a.txt": "a", "b/c.txt": "cc", "b/d e.txt": "ddd"} {
		p := filepath.Join(dir, "share", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	view, err := sharefs.New(filepath.Join(dir, "share"), sharefs.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { view.Close() })
	logs := &syncBuffer{}
	s := New(view, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Hosts: testHosts})
	f.Fuzz(func(t *testing.T, query, accept string) {
		u, err := url.ParseRequestURI("/b/?" + query)
		if err != nil || strings.ContainsAny(query, " #") {
			return // not a request target net/http would hand over
		}
		req := &http.Request{Method: "GET", URL: u, RequestURI: u.RequestURI(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Accept": {accept}}, Host: "share.test", RemoteAddr: "127.0.0.1:1"}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkFolderAnswer(t, query, rec)
		if q, err := url.ParseQuery(query); err == nil {
			if o := listOrderOf(q); o.query() != "" {
				back, _ := url.ParseQuery(strings.TrimPrefix(o.query(), "?"))
				if listOrderOf(back) != o {
					t.Fatalf("order %+v does not round-trip through %q", o, o.query())
				}
			}
		}
	})
}

// checkFolderAnswer checks one answer of FuzzFolderQuery.
func checkFolderAnswer(t *testing.T, query string, rec *httptest.ResponseRecorder) {
	ctype := rec.Header().Get("Content-Type")
	switch {
	case rec.Code != http.StatusOK:
		t.Fatalf("?%s: status %d", query, rec.Code)
	case strings.HasPrefix(ctype, "application/json"):
		var list []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 2 {
			t.Fatalf("?%s: JSON listing %q: %v", query, rec.Body.String(), err)
		}
	case strings.HasPrefix(ctype, "text/html"):
		if !strings.Contains(rec.Body.String(), "d%20e.txt") {
			t.Fatalf("?%s: HTML listing without its files", query)
		}
	case rec.Header().Get("Content-Disposition") == "":
		t.Fatalf("?%s: %s without a download name", query, ctype)
	}
}

// FuzzHeaderGuard feeds bytes to the header guard whole and cut in two:
// it must reach the same verdict either way, and never refuse a request
// within the limits.
func FuzzHeaderGuard(f *testing.F) {
	f.Add([]byte(headerRequest("/", 3, 0)), 10)
	f.Add([]byte(headerRequest("/", maxHeaderFields, 0)+headerRequest("/", 2, 0)), 500)
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\na\nb\nc"+headerRequest("/", 2, 0)), 40)
	f.Add([]byte("\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		whole := &headerGuard{}
		n := whole.scan(bytes.Clone(data), len(data))
		split := &headerGuard{}
		cut = min(max(cut, 0), len(data))
		m := split.scan(bytes.Clone(data[:cut]), cut)
		if !split.over {
			m += split.scan(bytes.Clone(data[cut:]), len(data)-cut)
		}
		if whole.over != split.over || whole.stopped != split.stopped || (!whole.over && n != m) {
			t.Fatalf("cut at %d: whole %+v (%d), split %+v (%d)", cut, whole, n, split, m)
		}
		if whole.over && len(data) <= maxHeaderFields+1 {
			t.Fatalf("%d bytes cannot pass a limit: %q", len(data), data)
		}
	})
}

// FuzzListingNames renders listings of arbitrary names: the JSON is
// valid, holds every name, and each url decodes back to its entry.
func FuzzListingNames(f *testing.F) {
	for _, n := range []string{"a b.txt", "#?%.txt", "ünï", "😀", "<script>", "x\xff\xfe", "&amp;"} {
		f.Add(n, "sub dir")
	}
	f.Fuzz(func(t *testing.T, name, dir string) {
		parts, ok := sharefs.Split(name)
		dirParts, dirOK := sharefs.Split(dir)
		if !dirOK || !ok || len(parts) != 1 || parts[0] != name {
			return // no folder holds such a name, and no view serves such a folder
		}
		dir = strings.Join(dirParts, "/") // as the server names a folder
		entries := []sharefs.Entry{{Name: name, Size: 1}, {Name: name, IsDir: true}}
		renderHTML(pageData{dir: dir, root: "root"}, entries)
		data, err := renderJSON("", dir, entries)
		if err != nil {
			t.Fatal(err)
		}
		var got []jsonEntry
		if err := json.Unmarshal(data, &got); err != nil || len(got) != len(entries) {
			t.Fatalf("JSON of %q: %v, %d entries", name, err, len(got))
		}
		for _, e := range got {
			u, err := url.Parse(e.URL)
			if err != nil {
				t.Fatalf("url %q: %v", e.URL, err)
			}
			decoded, _, ok := decodePath(u.EscapedPath())
			if !ok || path.Base(strings.TrimSuffix("/"+decoded, "/")) != name {
				t.Fatalf("url %q decodes to %q, not %q", e.URL, decoded, name)
			}
		}
	})
}
