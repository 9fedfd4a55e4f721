package sharefs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree makes a shared folder with an outside neighbour:
//
//	base/outside.txt
//	base/share/{a.txt, file2, file10, B, sub/c.txt, .hidden, .dotdir/x,
//	            in-link -> a.txt, out-link -> ../outside.txt, abs-link -> /etc/hostname,
//	            dir-link -> sub, up-link -> .., fifo}
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "share")
	write := func(rel, body string) {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("outside.txt", "secret")
	write("share/a.txt", "alpha")
	write("share/file2", "2")
	write("share/file10", "10")
	write("share/B", "b")
	write("share/sub/c.txt", "charlie")
	write("share/.hidden", "h")
	write("share/.dotdir/x", "x")
	links := map[string]string{
		"in-link": "a.txt", "out-link": "../outside.txt", "abs-link": "/etc/hostname",
		"dir-link": "sub", "up-link": "..",
		"env-link": ".hidden", "hid-link": ".dotdir", "hid-x": ".dotdir/x", "via-up": "sub/../.hidden",
		"root-link": "sub/..", "loop-a": "loop-b", "loop-b": "loop-a",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mkfifo(filepath.Join(root, "fifo")); err != nil {
		t.Fatal(err)
	}
	return root
}

func names(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	return out
}

func TestList(t *testing.T) {
	root := tree(t)
	for _, tc := range []struct {
		hidden bool
		want   []string
	}{
		{false, []string{"dir-link", "sub", "a.txt", "B", "file2", "file10", "in-link"}},
		{true, []string{".dotdir", "dir-link", "hid-link", "sub", ".hidden", "a.txt", "B", "env-link", "file2", "file10", "hid-x", "in-link", "via-up"}},
	} {
		d, err := New(root, Options{Hidden: tc.hidden})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := d.List("/")
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := names(entries); !slices.Equal(got, tc.want) {
			t.Errorf("hidden=%v: List = %q, want %q", tc.hidden, got, tc.want)
		}
	}
}

func TestRefusedNamesDoNotExist(t *testing.T) {
	d, err := New(tree(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{
		".hidden", ".dotdir/x", "/.dotdir", "out-link", "abs-link", "up-link", "up-link/share/a.txt",
		"../outside.txt", "sub/../../outside.txt", "sub/../a.txt", "./a.txt", "a.txt\x00",
		"sub\\c.txt", "..\\outside.txt", "fifo", "missing", strings.Repeat("a/", 3000),
		"env-link", "hid-link", "hid-link/x", "hid-x", "via-up", "loop-a", "root-link/.hidden",
	} {
		if _, err := d.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want not exist", name, err)
		}
		if f, err := d.Open(name); !errors.Is(err, fs.ErrNotExist) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q) = %v, want not exist", name, err)
		}
	}
}

func TestOpenAndStat(t *testing.T) {
	d, err := New(tree(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, want := range map[string]string{
		"a.txt": "alpha", "/sub/c.txt": "charlie", "in-link": "alpha", "dir-link/c.txt": "charlie", "sub//c.txt": "charlie",
	} {
		f, err := d.Open(name)
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != want {
			t.Errorf("Open(%q) read %q, want %q", name, got, want)
		}
		e, err := d.Stat(name)
		if err != nil || e.Size != int64(len(want)) || e.IsDir || e.Version.IsZero() {
			t.Errorf("Stat(%q) = %+v, %v", name, e, err)
		}
	}
	if e, err := d.Stat("in-link"); err != nil || e.Name != "in-link" {
		t.Errorf("Stat(in-link) = %+v, %v; want the link's own name", e, err)
	}
	if e, err := d.Stat("root-link"); err != nil || !e.IsDir {
		t.Errorf("Stat(root-link) = %+v, %v; want the root folder", e, err)
	}
	for _, name := range []string{"hid-link", "root-link/.dotdir"} {
		if _, err := d.List(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("List(%q) = %v, want not exist", name, err)
		}
	}
	// Links back to a folder on the way are not listed: they would make
	// endless paths for crawlers. Reached by name, they still work.
	for _, link := range []string{"sub/self", "sub/back", "sub/sub-again"} {
		if err := os.Symlink(map[string]string{"sub/self": ".", "sub/back": "..", "sub/sub-again": "../sub"}[link], filepath.Join(d.Path(), link)); err != nil {
			t.Fatal(err)
		}
	}
	if entries, err := d.List("dir-link"); err != nil || !slices.Equal(names(entries), []string{"c.txt"}) {
		t.Errorf("List(dir-link) = %q, %v; want only c.txt", names(entries), err)
	}
	// Two folders linking to each other: the walk a/to-b/ lists no way
	// back into a.
	for _, dir := range []string{"x", "y"} {
		if err := os.Mkdir(filepath.Join(d.Path(), dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("../y", filepath.Join(d.Path(), "x/to-y"))
	os.Symlink("../x", filepath.Join(d.Path(), "y/to-x"))
	if entries, err := d.List("x/to-y"); err != nil || len(entries) != 0 {
		t.Errorf("List(x/to-y) = %q, %v; want nothing", names(entries), err)
	}
	if entries, err := d.List("y"); err != nil || !slices.Equal(names(entries), []string{"to-x"}) {
		t.Errorf("List(y) = %q, %v; want to-x", names(entries), err)
	}
	if e, err := d.Stat("sub/back/sub/self/c.txt"); err != nil || e.Name != "c.txt" {
		t.Errorf("Stat through loop links = %+v, %v", e, err)
	}
	if _, err := d.Open("sub"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a folder = %v, want not exist", err)
	}
	if e, err := d.Stat(""); err != nil || !e.IsDir || e.Name != "" {
		t.Errorf("Stat(root) = %+v, %v", e, err)
	}
}

func TestHiddenLinksWithHidden(t *testing.T) {
	d, err := New(tree(t), Options{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"env-link", "hid-link/x", "hid-x", "via-up", ".hidden"} {
		if _, err := d.Stat(name); err != nil {
			t.Errorf("with hidden files shown, Stat(%q) = %v", name, err)
		}
	}
}

// TestFIFONeverOpened checks that a FIFO is refused before it is opened: a
// writer waiting on it stays blocked.
func TestFIFONeverOpened(t *testing.T) {
	root := tree(t)
	d, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	opened := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(filepath.Join(root, "fifo"), os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	if f, err := d.Open("fifo"); !errors.Is(err, fs.ErrNotExist) {
		if f != nil {
			f.Close()
		}
		t.Errorf("Open(fifo) = %v, want not exist", err)
	}
	select {
	case <-opened:
		t.Error("Open(fifo) opened the FIFO: a waiting writer was released")
	case <-time.After(300 * time.Millisecond):
	}
	// Release the writer.
	r, err := os.OpenFile(filepath.Join(root, "fifo"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	<-opened
	r.Close()
}

func TestNewErrors(t *testing.T) {
	root := tree(t)
	if _, err := New(filepath.Join(root, "nope"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := New(filepath.Join(root, "a.txt"), Options{}); !errors.Is(err, ErrNotDir) {
		t.Errorf("file as folder: %v", err)
	}
}

func TestNaturalCompare(t *testing.T) {
	want := []string{"1", "01", "2", "10", "a", "A1", "a2", "a10", "b", "Beta", "file 2", "file 10", "x", "ä"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, NaturalCompare)
	if !slices.Equal(got, want) {
		t.Errorf("natural order = %q, want %q", got, want)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"/a/b", "../x", "a/./b", "a\\..\\b", "a\x00", "//", "é/😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		parts, ok := Split(name)
		if !ok {
			return
		}
		for _, p := range parts {
			if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\\\x00") {
				t.Fatalf("Split(%q) let %q through", name, p)
			}
		}
	})
}

// FuzzStat checks that no name reaches a file outside the folder.
func FuzzStat(f *testing.F) {
	root := filepath.Join(f.TempDir(), "share")
	for _, p := range []string{root + "/in", root + "/.h"} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(root), "secret"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	d, err := New(root, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"../secret", "in/../../secret", ".h", "in", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		e, err := d.Stat(name)
		if err != nil {
			return
		}
		if e.Name == "secret" || e.Name == ".h" {
			t.Fatalf("Stat(%q) reached %q", name, e.Name)
		}
	})
}
