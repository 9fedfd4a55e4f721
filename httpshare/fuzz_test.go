package httpshare

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzPath feeds request targets to the path decoding and to the whole
// handler over the fixture folder: nothing may panic, leave the folder,
// redirect off-site, or reveal the files beside it.
func FuzzPath(f *testing.F) {
	for _, target := range refusedTargets {
		f.Add(target)
	}
	for _, name := range awkwardNames {
		f.Add(fileURL(name))
	}
	f.Add("/sub%20dir")
	f.Add("//evil.com")
	f.Add("/link-inside.txt")
	view, err := openFuzzView()
	if err != nil {
		f.Fatal(err)
	}
	logs := &syncBuffer{}
	s := New(view, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Hosts: testHosts})
	f.Cleanup(func() { view.Close() })
	f.Fuzz(func(t *testing.T, target string) {
		checkDecoded(t, target)
		checkRoundTrip(t, target)
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &http.Request{Method: "GET", URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Host: "share.test", RemoteAddr: "127.0.0.1:1"}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		if strings.Contains(body, secretMarker) {
			t.Fatalf("%q reveals a file outside the share", target)
		}
		switch {
		case rec.Code == 200, rec.Code == 301, rec.Code == 404:
		default:
			t.Fatalf("%q: status %d (%s)", target, rec.Code, logs.String())
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Fatalf("%q redirects off-site to %q", target, loc)
			}
		}
		if rec.Code == 404 && body != notFoundBody {
			t.Fatalf("%q: a 404 unlike a missing file: %q", target, body)
		}
	})
}

// openFuzzView opens the fixture folder without a testing.T.
func openFuzzView() (*sharefsDir, error) {
	return openSharefsDir(fixture.dir)
}

// checkDecoded: a name that decodePath accepts is relative and clean.
func checkDecoded(t *testing.T, target string) {
	name, _, ok := decodePath(target)
	if !ok {
		return
	}
	if strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
		t.Fatalf("decodePath(%q) = %q", target, name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if name != "" && (part == "" || part == "." || part == "..") {
			t.Fatalf("decodePath(%q) = %q has element %q", target, name, part)
		}
	}
}

// checkRoundTrip: any servable name survives fileURL and decodePath.
func checkRoundTrip(t *testing.T, name string) {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return
	}
	if _, _, ok := decodePath("/" + name); !ok {
		return
	}
	if strings.Contains(strings.ToLower(name), "%") {
		return // "/"+name was read as escaped; check the raw name instead below
	}
	got, _, ok := decodePath(fileURL(name))
	if !ok || got != name {
		t.Fatalf("fileURL(%q) = %q decodes to %q, %v", name, fileURL(name), got, ok)
	}
}
