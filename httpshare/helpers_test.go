package httpshare

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// fixture is the shared test folder: built once, hashed before and after
// the whole suite, which must leave it byte-for-byte unchanged.
var fixture struct {
	dir     string // the shared folder
	outside string // a folder beside it that must never be reachable
	files   map[string][]byte
}

// secretMarker is the content of the files outside the share; no
// response may ever contain it.
const secretMarker = "OUTSIDE-SECRET-5f0c2d"

// awkwardNames are file names that must round-trip through the listing.
var awkwardNames = []string{
	"with space.txt", "hash#name.txt", "q?mark.txt", "pct%20name.txt", "pct%2fslash.txt",
	"amp&name=1.txt", "ünïcødé.txt", "emoji 🎉.txt", "bad\xff\xfename.txt",
	"colon:name.txt", "quote\"'<b>bold<i>&amp;.txt", "plus+name.txt", "tab\tname.txt",
	"new\nline.txt", "semi;comma,.txt", "back`tick.txt", "rtl\u202etxt.exe",
	"日本語のファイル.txt", "-dash.txt", "~tilde.txt", "brackets[1](2){3}.txt",
}

func TestMain(m *testing.M) {
	if err := buildFixture(); err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		os.Exit(1)
	}
	before, err := hashTree(fixture.dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hash:", err)
		os.Exit(1)
	}
	code := m.Run()
	after, err := hashTree(fixture.dir)
	if err != nil || after != before {
		fmt.Fprintf(os.Stderr, "the shared folder changed during the tests (err %v)\n", err)
		code = 1
	}
	_ = os.RemoveAll(filepath.Dir(fixture.dir))
	os.Exit(code)
}

// buildFixture makes the shared folder with awkward names, hidden files,
// symlinks in and out, and a file big enough for sendfile.
func buildFixture() error {
	base, err := os.MkdirTemp("", "httpshare-test-")
	if err != nil {
		return err
	}
	fixture.dir = filepath.Join(base, "share")
	fixture.outside = filepath.Join(base, "outside")
	fixture.files = map[string][]byte{}
	big := make([]byte, 4<<20+123)
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	files := map[string][]byte{
		"hello.txt":               []byte("hello world\n"),
		"big.bin":                 big,
		"noext":                   []byte("<!doctype html><html><script>alert(1)</script></html>"),
		"page.html":               []byte("<html><script>document.title='x'</script></html>"),
		"image.svg":               []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		"sub dir/inner.txt":       []byte("inner\n"),
		"sub dir/deeper/x.txt":    []byte("deeper\n"),
		"evil.com/index.txt":      []byte("not a host\n"),
		".hidden.txt":             []byte("hidden\n"),
		".hiddendir/secret.txt":   []byte("hidden dir\n"),
		"sub dir/.dotfile":        []byte("hidden too\n"),
		"README.md":               []byte("# readme\n"),
		"doc.pdf":                 []byte("%PDF-1.4\n%%EOF\n"),
		"file2.txt":               []byte("2"),
		"file10.txt":              []byte("10"),
		"Z-last-folder/keep.txt":  []byte("keep"),
		"a-first-folder/keep.txt": []byte("keep"),
	}
	for _, n := range awkwardNames {
		files[n] = []byte("content of " + n + "\n")
	}
	for name, data := range files {
		p := filepath.Join(fixture.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		fixture.files[name] = data
	}
	if err := os.MkdirAll(filepath.Join(fixture.dir, "empty"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(fixture.outside, "dir"), 0o755); err != nil {
		return err
	}
	for _, p := range []string{"secret.txt", "dir/secret.txt"} {
		if err := os.WriteFile(filepath.Join(fixture.outside, p), []byte(secretMarker+"\n"), 0o644); err != nil {
			return err
		}
	}
	links := map[string]string{
		"link-inside.txt": "hello.txt",
		"link-outside":    filepath.Join(fixture.outside, "secret.txt"),
		"linkdir-outside": filepath.Join(fixture.outside, "dir"),
		"link-relative":   "../outside/secret.txt",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(fixture.dir, name)); err != nil {
			return err
		}
	}
	fixture.files["link-inside.txt"] = files["hello.txt"]
	return nil
}

// hashTree hashes every name, mode, size, time and content under dir.
func hashTree(dir string) (string, error) {
	h := sha256.New()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%q %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:])
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	h.Write([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h.Sum(nil)), err
}

// testServer is a real server on a loopback port.
type testServer struct {
	*Server
	URL  string
	Addr string
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the log handler and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// shareView opens dir as a sharefs view, closed with the test.
func shareView(t testing.TB, dir string, hidden bool) *sharefs.Dir {
	t.Helper()
	v, err := sharefs.New(dir, sharefs.Options{Hidden: hidden})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// testHosts are the names tests reach servers by besides IP addresses:
// httptest.NewRequest's default and the browser test's LAN-like name.
var testHosts = []string{"example.com", "share.test"}

// startServer serves view on 127.0.0.1 with s.Serve until the test ends.
func startServer(t testing.TB, view sharefs.View, tune func(*Server)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	s := New(view, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), FTPPort: 2121, Hosts: testHosts})
	if tune != nil {
		tune(s)
	}
	addr := testutil.Serve(t, s, "127.0.0.1")
	// Before the shutdown (cleanups run last first): the client may hold
	// a connection it dialed and never used, which the server counts as
	// new, not idle, and waits 5 s for.
	t.Cleanup(client.CloseIdleConnections)
	return &testServer{Server: s, URL: "http://" + addr, Addr: addr, logs: logs}
}

// startFixture serves the shared fixture folder.
func startFixture(t testing.TB) *testServer {
	t.Helper()
	return startServer(t, shareView(t, fixture.dir, false), nil)
}

// client is an HTTP client that does not follow redirects and does not
// ask for gzip behind the test's back.
var client = &http.Client{
	Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{DisableCompression: true},
}

// doRequest sends a request with optional headers and returns the response and
// its whole body.
func doRequest(t testing.TB, method, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, body
}

// rawRequest writes a request line byte for byte over TCP, so nothing
// normalizes the path, and returns the status code, headers and body.
func rawRequest(t testing.TB, addr, target string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// sharefsDir and openSharefsDir let code without a testing.T open a view.
type sharefsDir = sharefs.Dir

func openSharefsDir(dir string) (*sharefs.Dir, error) {
	return sharefs.New(dir, sharefs.Options{})
}
