package httpshare

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDownloadHeaders(t *testing.T) {
	ts := startFixture(t)
	info, err := os.Stat(filepath.Join(fixture.dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := doRequest(t, method, ts.URL+"/hello.txt")
		want := map[string]string{
			"Content-Type":            "text/plain; charset=utf-8",
			"Content-Length":          "12",
			"Accept-Ranges":           "bytes",
			"Last-Modified":           info.ModTime().UTC().Format(http.TimeFormat),
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "sandbox",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", method, k, got, v)
			}
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", method)
		}
		wantBody := "hello world\n"
		if method == "HEAD" {
			wantBody = ""
		}
		if string(body) != wantBody {
			t.Errorf("%s: body %q", method, body)
		}
	}
}

func TestContentTypes(t *testing.T) {
	ts := startFixture(t)
	for _, c := range []struct{ path, ctype string }{
		{"/page.html", "text/html; charset=utf-8"},
		{"/image.svg", "image/svg+xml"},
		{"/noext", "text/html; charset=utf-8"}, // sniffed
		{"/big.bin", "application/octet-stream"},
		{"/doc.pdf", "application/pdf"},
	} {
		resp, _ := doRequest(t, "HEAD", ts.URL+c.path)
		if got := resp.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		// Served HTML and SVG must not run script as the share.
		wantCSP := "sandbox"
		if c.ctype == "application/pdf" {
			wantCSP = "" // browsers refuse to show a sandboxed PDF
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("%s: CSP %q, want %q", c.path, got, wantCSP)
		}
	}
}

func TestRanges(t *testing.T) {
	ts := startFixture(t)
	big := fixture.files["big.bin"]
	size := len(big)
	for _, c := range []struct {
		rng    string
		status int
		from   int // first byte of a single-part answer
		to     int // last byte, inclusive
	}{
		{"bytes=0-9", 206, 0, 9},
		{"bytes=-500", 206, size - 500, size - 1},
		{"bytes=100-", 206, 100, size - 1},
		{"bytes=5-5", 206, 5, 5},
		{fmt.Sprintf("bytes=%d-", size-1), 206, size - 1, size - 1},
		{fmt.Sprintf("bytes=0-%d", size+1000), 206, 0, size - 1},
		{fmt.Sprintf("bytes=%d-", size), 416, 0, 0},
		{"bytes=99999999-", 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
		{"Bytes=0-9", 206, 0, 9},        // the unit is case-insensitive
		{"items=0-5", 200, 0, size - 1}, // a unit not understood is ignored (RFC 9110)
	} {
		resp, body := doRequest(t, "GET", ts.URL+"/big.bin", "Range", c.rng)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.rng, resp.StatusCode, c.status)
			continue
		}
		if c.status == 200 {
			if !bytes.Equal(body, big) || resp.Header.Get("Content-Range") != "" {
				t.Errorf("%s: not the whole file", c.rng)
			}
			continue
		}
		if c.status == 416 {
			if got := resp.Header.Get("Content-Range"); got != fmt.Sprintf("bytes */%d", size) {
				t.Errorf("%s: Content-Range %q", c.rng, got)
			}
			continue
		}
		wantRange := fmt.Sprintf("bytes %d-%d/%d", c.from, c.to, size)
		if got := resp.Header.Get("Content-Range"); got != wantRange {
			t.Errorf("%s: Content-Range %q, want %q", c.rng, got, wantRange)
		}
		if !bytes.Equal(body, big[c.from:c.to+1]) {
			t.Errorf("%s: wrong bytes (%d)", c.rng, len(body))
		}
	}
}

func TestMultiRange(t *testing.T) {
	ts := startFixture(t)
	big := fixture.files["big.bin"]
	resp, body := doRequest(t, "GET", ts.URL+"/big.bin", "Range", "bytes=0-9,1000-1099,-20")
	if resp.StatusCode != 206 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	want := [][]byte{big[0:10], big[1000:1100], big[len(big)-20:]}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d parts, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(part)
		if i >= len(want) || !bytes.Equal(got, want[i]) {
			t.Errorf("part %d (%s): wrong bytes", i, part.Header.Get("Content-Range"))
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	ts := startFixture(t)
	first, _ := doRequest(t, "GET", ts.URL+"/big.bin")
	tag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	later := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	earlier := time.Unix(0, 0).UTC().Format(http.TimeFormat)
	for _, c := range []struct {
		name    string
		headers []string
		status  int
		length  int
	}{
		{"If-None-Match same", []string{"If-None-Match", tag}, 304, 0},
		{"If-None-Match list", []string{"If-None-Match", `"nope", ` + tag}, 304, 0},
		{"If-None-Match other", []string{"If-None-Match", `"nope"`}, 200, len(fixture.files["big.bin"])},
		{"If-Modified-Since same", []string{"If-Modified-Since", lastMod}, 304, 0},
		{"If-Modified-Since later", []string{"If-Modified-Since", later}, 304, 0},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", earlier}, 200, len(fixture.files["big.bin"])},
		{"If-Range etag matches", []string{"Range", "bytes=0-9", "If-Range", tag}, 206, 10},
		{"If-Range etag differs", []string{"Range", "bytes=0-9", "If-Range", `"other"`}, 200, len(fixture.files["big.bin"])},
		{"If-Range date matches (a date never splices)", []string{"Range", "bytes=0-9", "If-Range", lastMod}, 200, len(fixture.files["big.bin"])},
		{"If-Range date differs", []string{"Range", "bytes=0-9", "If-Range", earlier}, 200, len(fixture.files["big.bin"])},
		{"If-Match other", []string{"If-Match", `"other"`}, 412, -1},
	} {
		resp, body := doRequest(t, "GET", ts.URL+"/big.bin", c.headers...)
		if resp.StatusCode != c.status || (c.length >= 0 && len(body) != c.length) {
			t.Errorf("%s: status %d with %d bytes, want %d with %d", c.name, resp.StatusCode, len(body), c.status, c.length)
		}
	}
}

func TestMethods(t *testing.T) {
	ts := startFixture(t)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "PROPFIND", "MKCOL", "TRACE", "CONNECT"} {
		for _, path := range []string{"/", "/hello.txt", "/nope", "/sub%20dir/"} {
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader("payload"))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Errorf("%s %s: %d, Allow %q", method, path, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	}
	resp, body := doRequest(t, "OPTIONS", ts.URL+"/hello.txt")
	if resp.StatusCode != 204 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" || len(body) != 0 {
		t.Errorf("OPTIONS: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if code, hdr, _ := rawOptionsStar(t, ts.Addr); code != 204 || hdr.Get("Allow") == "" {
		t.Errorf("OPTIONS *: %d %v", code, hdr)
	}
}

func TestRedirects(t *testing.T) {
	ts := startFixture(t)
	for _, c := range []struct{ target, location string }{
		{"/sub%20dir", "/sub%20dir/"},
		{"/sub%20dir?format=json&x=1", "/sub%20dir/?format=json&x=1"},
		{"/sub dir/deeper", "/sub%20dir/deeper/"},
		{"//evil.com", "/evil.com/"},
		{"///evil.com", "/evil.com/"},
		{"/evil.com", "/evil.com/"},
		{"//sub%20dir", "/sub%20dir/"},
	} {
		code, hdr, _ := rawRequest(t, ts.Addr, strings.ReplaceAll(c.target, " ", "%20"))
		loc := hdr.Get("Location")
		if code != 301 || loc != c.location {
			t.Errorf("%q: %d to %q, want 301 to %q", c.target, code, loc, c.location)
		}
		if strings.HasPrefix(loc, "//") || strings.Contains(loc, "://") {
			t.Errorf("%q: redirect leaves the site: %q", c.target, loc)
		}
	}
	// A file asked for as a folder is missing, like anything else.
	for _, p := range []string{"/hello.txt/", "/sub%20dir/inner.txt/"} {
		if resp, _ := doRequest(t, "GET", ts.URL+p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// rawOptionsStar sends the server-wide "OPTIONS *".
func rawOptionsStar(t *testing.T, addr string) (int, http.Header, error) {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", "http://"+addr, nil)
	req.URL.Opaque = "*"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// TestTooManyRanges: a request for more than maxRanges ranges gets the
// whole file, not a multipart response many times its size.
func TestTooManyRanges(t *testing.T) {
	ts := startFixture(t)
	for _, n := range []int{maxRanges, maxRanges + 1, 1200} { // 1200 ranges: about 13 KiB, under maxHeaderBytes
		ranges := make([]string, n)
		for i := range ranges {
			ranges[i] = fmt.Sprintf("%d-%d", i, i)
		}
		req, err := http.NewRequest("GET", ts.URL+"/big.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Range", "bytes="+strings.Join(ranges, ","))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusPartialContent
		if n > maxRanges {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("%d ranges: %d, want %d (%d bytes)", n, resp.StatusCode, want, len(body))
		}
	}
}
