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
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
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
		{true, []string{".dotdir", "dir-link", "sub", ".hidden", "a.txt", "B", "file2", "file10", "in-link"}},
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
		if err != nil || e.Size != int64(len(want)) || e.IsDir || e.Inode == 0 {
			t.Errorf("Stat(%q) = %+v, %v", name, e, err)
		}
	}
	if _, err := d.Open("sub"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a folder = %v, want not exist", err)
	}
	if e, err := d.Stat(""); err != nil || !e.IsDir || e.Name != "" {
		t.Errorf("Stat(root) = %+v, %v", e, err)
	}
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
