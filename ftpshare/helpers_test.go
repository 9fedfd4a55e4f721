package ftpshare

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// fixture is the shared test folder; outside holds what symlinks in it
// point to but must never be served.
var fixture, outside string

// helloTime is the fixed modification time of hello.txt.
var helloTime = time.Date(2021, 6, 15, 12, 34, 56, 0, time.UTC)

// visibleFiles maps every file the server must show to its content.
var visibleFiles = map[string][]byte{}

func TestMain(m *testing.M) {
	// A local zone far from UTC makes local-time bugs show.
	time.Local = time.FixedZone("UTC+5", 5*3600)
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	base, err := os.MkdirTemp("", "ftpshare-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(base)
	fixture, outside = filepath.Join(base, "share"), filepath.Join(base, "outside")
	if err := makeFixture(); err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		return 1
	}
	before, err := treeHash(base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	removeMany()
	after, err := treeHash(base)
	if err != nil || after != before {
		fmt.Fprintf(os.Stderr, "FAIL: the shared folder changed during the tests (%v)\n", err)
		return 1
	}
	return code
}

func makeFixture() error {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"hello.txt":                 []byte("hello, world\n"),
		"big.bin":                   random(3<<20 + 123),
		"odd names/with space.txt":  []byte("space\n"),
		"odd names/#hash%25pct.txt": []byte("hash and percent\n"),
		"ünïcödé.txt":               []byte("unicode\n"),
		"emoji 😀 dir/grin 😀.txt":    []byte("emoji\n"),
		"sub/deeper/leaf.txt":       []byte("leaf\n"),
		"empty.txt":                 {},
	}
	hidden := map[string][]byte{
		".hidden":          []byte("hidden\n"),
		".secretdir/x":     []byte("x\n"),
		"../outside/s.txt": []byte("secret outside\n"),
	}
	for name, data := range files {
		visibleFiles[name] = data
		if err := writeFile(filepath.Join(fixture, name), data); err != nil {
			return err
		}
	}
	for name, data := range hidden {
		if err := writeFile(filepath.Join(fixture, name), data); err != nil {
			return err
		}
	}
	// A sparse file, big enough to fill socket buffers in the ABOR test.
	if err := writeFile(filepath.Join(fixture, "huge.bin"), nil); err != nil {
		return err
	}
	if err := os.Truncate(filepath.Join(fixture, "huge.bin"), 64<<20); err != nil {
		return err
	}
	links := map[string]string{
		"escape.txt":      filepath.Join(outside, "s.txt"),
		"escape-dir":      outside,
		"escape-rel.txt":  "../outside/s.txt",
		"inside-link.txt": "hello.txt",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(fixture, name)); err != nil {
			return err
		}
	}
	visibleFiles["inside-link.txt"] = files["hello.txt"]
	return os.Chtimes(filepath.Join(fixture, "hello.txt"), helloTime, helloTime)
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// treeHash hashes names, kinds, sizes, times, link targets and contents.
func treeHash(root string) (string, error) {
	h := sha256.New()
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, p := range names {
		info, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s|%v|%d|%d\n", p, info.Mode(), info.Size(), info.ModTime().UnixNano())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			fmt.Fprintln(h, t)
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// testLogger writes the server's log into the test log until the test
// ends; sessions that outlive it log nowhere.
func testLogger(t testing.TB) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// openView opens the fixture as a sharefs view.
func openView(t testing.TB) *sharefs.Dir {
	t.Helper()
	v, err := sharefs.New(fixture, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// start runs a server for view on a loopback address ("127.0.0.1" or
// "::1") and returns it with its address. It stops with the test.
func start(t testing.TB, view sharefs.View, opts Options, host string) (*Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	srv, err := New(view, opts)
	if err != nil {
		t.Fatal(err)
	}
	return srv, testutil.Serve(t, srv, host)
}

// startFixture serves the fixture on 127.0.0.1 with default options.
func startFixture(t testing.TB) string {
	_, addr := start(t, openView(t), Options{}, "127.0.0.1")
	return addr
}

// client is a small FTP client on net/textproto.
type client struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { c.tp.Close() })
	c.expect(220, "")
	return c
}

// send writes one command line and reads the reply.
func (c *client) send(line string) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
	return c.read()
}

// read reads one (possibly multi-line) reply.
func (c *client) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// expect sends line ("" sends nothing) and checks the reply code.
func (c *client) expect(code int, line string) string {
	c.t.Helper()
	var got int
	var msg string
	if line == "" {
		got, msg = c.read()
	} else {
		got, msg = c.send(line)
	}
	if got != code {
		c.t.Fatalf("%q: got %d %q, want %d", line, got, msg, code)
	}
	return msg
}

func (c *client) login() {
	c.t.Helper()
	c.expect(331, "USER anonymous")
	c.expect(230, "PASS test@example.com")
}

// epsv asks for a passive port and returns the address to connect to.
func (c *client) epsv() string {
	c.t.Helper()
	msg := c.expect(229, "EPSV")
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i {
		c.t.Fatalf("bad EPSV reply %q", msg)
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return net.JoinHostPort(host, msg[i+4:j])
}

// pasv asks for a passive port with PASV and returns its address.
func (c *client) pasv() string {
	c.t.Helper()
	msg := c.expect(227, "PASV")
	i, j := strings.Index(msg, "("), strings.Index(msg, ")")
	if i < 0 || j < i {
		c.t.Fatalf("bad PASV reply %q", msg)
	}
	var n [6]int
	for k, f := range strings.Split(msg[i+1:j], ",") {
		n[k], _ = strconv.Atoi(f)
	}
	return fmt.Sprintf("%d.%d.%d.%d:%d", n[0], n[1], n[2], n[3], n[4]<<8|n[5])
}

// retrieve sends cmd after EPSV and returns what the data connection
// carried and the final reply code.
func (c *client) retrieve(cmd string) ([]byte, int) {
	c.t.Helper()
	dc := dialData(c.t, c.epsv())
	defer dc.Close()
	code, msg := c.send(cmd)
	if code != 150 {
		c.t.Fatalf("%q: got %d %q, want 150", cmd, code, msg)
	}
	data, err := io.ReadAll(dc)
	if err != nil {
		c.t.Fatalf("%q: read data: %v", cmd, err)
	}
	code, _ = c.read()
	return data, code
}

// get downloads a file and checks the 226.
func (c *client) get(cmd string) []byte {
	c.t.Helper()
	data, code := c.retrieve(cmd)
	if code != 226 {
		c.t.Fatalf("%q: final reply %d, want 226", cmd, code)
	}
	return data
}

func dialData(t testing.TB, addr string) net.Conn {
	t.Helper()
	dc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("data connection to %s: %v", addr, err)
	}
	_ = dc.SetDeadline(time.Now().Add(20 * time.Second))
	return dc
}

// lines splits a listing into its CRLF-terminated lines.
func lines(t testing.TB, data []byte) []string {
	t.Helper()
	if len(data) == 0 {
		return nil
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Count(data, []byte("\n")) != bytes.Count(data, []byte("\r\n")) {
		t.Fatalf("listing lines must end in CRLF: %q", data)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
