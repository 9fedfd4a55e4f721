package sharefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"testing"

	"example.com/share/internal/testutil"
)

// keptTree makes base/share/a/b/f.txt ("public"), base/share/x.txt,
// base/share/.private/b/f.txt (the secret), a link a/b/up ->
// ../../x.txt that climbs above the kept folders and a link a/b/out ->
// ../../../outside.txt that leaves the share, and returns base and a
// Dir of base/share in which a/b is kept open.
func keptTree(t *testing.T) (string, *Dir) {
	t.Helper()
	base := t.TempDir()
	for rel, body := range map[string]string{
		"share/a/b/f.txt": "public", "share/x.txt": "x", "share/.private/b/f.txt": testutil.Secret,
		"outside.txt": "outside",
	} {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"up": "../../x.txt", "out": "../../../outside.txt"} {
		if err := os.Symlink(target, filepath.Join(base, "share/a/b", name)); err != nil {
			t.Fatal(err)
		}
	}
	return base, keptDir(t, filepath.Join(base, "share"), "a/b/f.txt")
}

// keptDir opens a Dir of root, reads name (which must say "public") and
// checks that the folder it is in is then kept open.
func keptDir(t *testing.T, root, name string) *Dir {
	t.Helper()
	d, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if d.watcher() == nil {
		testutil.Skip(t, "no change notification on "+runtime.GOOS+" here: no folder is kept open")
	}
	if got := read(t, d, name); got != "public" {
		t.Fatalf("%s read %q", name, got)
	}
	h := d.held.get(path.Dir(name))
	if h == nil {
		t.Fatalf("%s is not kept open after a request for a file in it", path.Dir(name))
	}
	d.held.release(h)
	return d
}

// read opens name in d and reads it all, or returns the error's text.
func read(t *testing.T, d *Dir, name string) string {
	t.Helper()
	f, err := d.Open(name)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeptFolderChanges: a folder kept open stops being used the moment
// the folder at its name changes: moved out of the share, replaced by a
// link to a hidden folder, renamed.
func TestKeptFolderChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(base string) error
		want   map[string]string // name -> content; "" for not found
	}{
		{"moved out of the share", func(base string) error {
			return os.Rename(filepath.Join(base, "share/a"), filepath.Join(base, "moved-out"))
		}, map[string]string{"a/b/f.txt": ""}},
		{"replaced by a link to a hidden folder", func(base string) error {
			if err := os.Rename(filepath.Join(base, "share/a"), filepath.Join(base, "share/a-old")); err != nil {
				return err
			}
			return os.Symlink(".private", filepath.Join(base, "share/a"))
		}, map[string]string{"a/b/f.txt": "", "a-old/b/f.txt": "public"}},
		{"inner folder replaced by a link", func(base string) error {
			if err := os.Rename(filepath.Join(base, "share/a/b"), filepath.Join(base, "share/b-old")); err != nil {
				return err
			}
			return os.Symlink("../.private/b", filepath.Join(base, "share/a/b"))
		}, map[string]string{"a/b/f.txt": "", "b-old/f.txt": "public"}},
		{"renamed", func(base string) error {
			return os.Rename(filepath.Join(base, "share/a"), filepath.Join(base, "share/c"))
		}, map[string]string{"a/b/f.txt": "", "c/b/f.txt": "public"}},
		{"renamed over by another folder", func(base string) error {
			if err := os.MkdirAll(filepath.Join(base, "share/n/b"), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(base, "share/n/b/f.txt"), []byte("new"), 0o644); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(base, "share/a"), filepath.Join(base, "share/a-old")); err != nil {
				return err
			}
			return os.Rename(filepath.Join(base, "share/n"), filepath.Join(base, "share/a"))
		}, map[string]string{"a/b/f.txt": "new", "a-old/b/f.txt": "public"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, d := keptTree(t)
			if err := tc.change(base); err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				got := read(t, d, name)
				if want == "" {
					if _, err := d.Stat(name); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("after the change, Stat(%q) = %v, want not exist", name, err)
					}
					if got == "public" || got == testutil.Secret {
						t.Errorf("after the change, %s read %q, want not found", name, got)
					}
					continue
				}
				if got != want {
					t.Errorf("after the change, %s read %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestKeptFolderLinks: links in a kept folder that climb above it are
// followed from the root, and those that leave the share are refused.
func TestKeptFolderLinks(t *testing.T) {
	_, d := keptTree(t)
	for range 2 {
		if got := read(t, d, "a/b/up"); got != "x" {
			t.Errorf("a/b/up read %q, want x", got)
		}
		if got := read(t, d, "a/b/out"); got == "outside" {
			t.Error("a/b/out served a file outside the share")
		}
		if e, err := d.Stat("a/b/up"); err != nil || e.Name != "up" || e.Size != 1 {
			t.Errorf("Stat(a/b/up) = %+v, %v", e, err)
		}
	}
}

// TestKeptFoldersBounded: however many folders are asked for, at most
// maxHeldDirs stay open, and closing the Dir closes them all.
func TestKeptFoldersBounded(t *testing.T) {
	root := t.TempDir()
	const folders = maxHeldDirs * 3
	for i := range folders {
		p := filepath.Join(root, "top", fmt.Sprint(i), "f.txt")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("f"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := openFDs(t)
	d, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.watcher() == nil {
		d.Close()
		testutil.Skip(t, "no change notification on "+runtime.GOOS+" here: no folder is kept open")
	}
	for i := range folders {
		if got := read(t, d, fmt.Sprintf("top/%d/f.txt", i)); got != "f" {
			t.Fatalf("top/%d/f.txt read %q", i, got)
		}
	}
	if n := d.held.count(); n != maxHeldDirs {
		t.Errorf("%d folders kept open, want %d", n, maxHeldDirs)
	}
	// The root, the notification service and the kept folders; slack
	// for the runtime's own descriptors.
	if n := openFDs(t) - before; n > maxHeldDirs+8 {
		t.Errorf("%d descriptors open after %d folders, want at most %d", n, folders, maxHeldDirs+8)
	}
	d.Close()
	if n := d.held.count(); n != 0 {
		t.Errorf("%d folders still kept after Close", n)
	}
	if n := openFDs(t) - before; n > 2 {
		t.Errorf("%d descriptors still open after Close", n)
	}
}

// openFDs counts this process's open descriptors (Linux only; the
// test needs notification, so it runs there).
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		testutil.Skip(t, "no /proc/self/fd to count descriptors")
	}
	return len(fds)
}

// TestKeptThroughLinks: a folder reached through links is kept by the
// name it was asked by, and stops being used the moment any folder
// looked in to find it changes: the link retargeted (to a hidden folder
// or another), a folder on the target's way replaced by a link to a
// hidden one, or one only passed through ("p/q/../../x") changed. The
// changes stay inside their folder, so only its watch can tell.
func TestKeptThroughLinks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(share string) error
		want   string // what l/a/b/f.txt reads; "" for not found
	}{
		{"link to a hidden folder", func(share string) error {
			return relink(share, "l", ".private")
		}, ""},
		{"link to another folder", func(share string) error {
			return relink(share, "l", "x2")
		}, "other"},
		{"folder on the way replaced by a link", func(share string) error {
			if err := os.Rename(filepath.Join(share, "x/a"), filepath.Join(share, "x/a-old")); err != nil {
				return err
			}
			return os.Symlink("../.private/a", filepath.Join(share, "x/a"))
		}, ""},
		{"folder passed through changed", func(share string) error {
			if err := os.Rename(filepath.Join(share, "p/q"), filepath.Join(share, "p/q-old")); err != nil {
				return err
			}
			return os.Symlink("../.private/a", filepath.Join(share, "p/q"))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			share := t.TempDir()
			for rel, body := range map[string]string{
				"x/a/b/f.txt": "public", ".private/a/b/f.txt": testutil.Secret, "x2/a/b/f.txt": "other", "p/q/keep": "",
			} {
				p := filepath.Join(share, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink("p/q/../../x", filepath.Join(share, "l")); err != nil {
				t.Fatal(err)
			}
			d := keptDir(t, share, "l/a/b/f.txt")
			if err := tc.change(share); err != nil {
				t.Fatal(err)
			}
			got := read(t, d, "l/a/b/f.txt")
			if tc.want == "" {
				if got == "public" || got == testutil.Secret {
					t.Errorf("after the change, l/a/b/f.txt read %q, want not found", got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("after the change, l/a/b/f.txt read %q, want %q", got, tc.want)
			}
		})
	}
}

// relink points the link name in folder dir at target instead.
func relink(dir, name, target string) error {
	tmp := filepath.Join(dir, name+".new")
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
