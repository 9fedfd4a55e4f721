package httpshare

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

func TestSumLine(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	hex := "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	tests := []struct{ name, want string }{
		{"plain.txt", hex + "  plain.txt\n"},
		{"sub/a b#%?&.txt", hex + "  sub/a b#%?&.txt\n"},
		{"ünï 🎉", hex + "  ünï 🎉\n"},
		{"line\nbreak", `\` + hex + `  line\nbreak` + "\n"},
		{`back\slash`, `\` + hex + `  back\\slash` + "\n"},
		{"cr\rname", `\` + hex + `  cr\rname` + "\n"},
		{"all\\\n\r", `\` + hex + `  all\\\n\r` + "\n"},
	}
	for _, tt := range tests {
		if got := sumLine(d[:], tt.name); got != tt.want {
			t.Errorf("sumLine(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestSumLineLikeSha256sum checks the escaping against what sha256sum
// itself prints for awkward names, backslashes included (the view never
// shows those, so writeSums cannot meet them on disk).
func TestSumLineLikeSha256sum(t *testing.T) {
	tool := testutil.NeedTool(t, "sha256sum")
	dir := t.TempDir()
	for _, name := range []string{"plain.txt", `back\slash`, "line\nbreak", "cr\rname", "trailing cr\r", "all\\\n\r", "ünï 🎉"} {
		data := []byte("content of " + name)
		mustWrite(t, filepath.Join(dir, name), data)
		cmd := exec.Command(tool, "--", name)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sha256sum %q: %v", name, err)
		}
		d := sha256.Sum256(data)
		if got := sumLine(d[:], name); got != string(out) {
			t.Errorf("%q: sumLine %q, sha256sum %q", name, got, out)
		}
	}
}

// wantSums is the SHA256SUMS of the files of want, in order.
func wantSums(want []archEntry) (string, int) {
	var b strings.Builder
	files := 0
	for _, e := range want {
		if e.isDir {
			continue
		}
		d := sha256.Sum256(e.data)
		b.WriteString(sumLine(d[:], e.rel))
		files++
	}
	return b.String(), files
}

func sumsOf(t *testing.T, c *sumCache, view sharefs.View, dir string) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.writeSums(context.Background(), &b, view, dir); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// sha256sumCheck runs sha256sum -c --strict on sums in folder dir and
// returns its output and error.
func sha256sumCheck(t *testing.T, dir, sums string) (string, error) {
	t.Helper()
	tool := testutil.NeedTool(t, "sha256sum")
	list := filepath.Join(t.TempDir(), "SHA256SUMS")
	mustWrite(t, list, []byte(sums))
	cmd := exec.Command(tool, "-c", "--strict", list)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mirror copies the tree with cp -a, then drops what the view hides, as a
// coworker's copy of the share would look.
func mirror(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "mirror")
	if out, err := exec.Command(testutil.NeedTool(t, "cp"), "-a", root, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	for _, hidden := range []string{".hidden", ".hiddendir", "outside", "outsidedir", "sub/outside-rel", "dangling-link.txt"} {
		if err := os.RemoveAll(filepath.Join(dst, hidden)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func okLines(out string) int {
	return strings.Count(out, ": OK\n")
}

// TestWriteSumsMirror checks the exact output, then lets sha256sum -c
// verify a cp -a mirror, a sub-folder of it, and a copy unpacked from the
// tar.gz download; a changed byte must make it fail.
func TestWriteSumsMirror(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	c := newSumCache(1000)
	sums := sumsOf(t, c, view, "")
	want, files := wantSums(tree.want)
	if sums != want {
		t.Fatalf("sums\n%s\nwant\n%s", sums, want)
	}

	dst := mirror(t, tree.root)
	out, err := sha256sumCheck(t, dst, sums)
	if err != nil || okLines(out) != files {
		t.Fatalf("sha256sum -c: %v, %d OK of %d\n%s", err, okLines(out), files, out)
	}

	subSums := sumsOf(t, c, view, "/sub/")
	if out, err := sha256sumCheck(t, filepath.Join(dst, "sub"), subSums); err != nil || okLines(out) != 3 {
		t.Fatalf("sha256sum -c in sub: %v\n%s", err, out)
	}

	tarFile, err := writeArchive(t, archFormats[1], view, "")
	if err != nil {
		t.Fatal(err)
	}
	unpacked := t.TempDir()
	extractTar(t, tarFile, unpacked)
	if out, err := sha256sumCheck(t, filepath.Join(unpacked, "share"), sums); err != nil || okLines(out) != files {
		t.Fatalf("sha256sum -c of the unpacked tar.gz: %v\n%s", err, out)
	}

	f, err := os.OpenFile(filepath.Join(dst, "sub/nested.txt"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("!")
	f.Close()
	if out, err := sha256sumCheck(t, dst, sums); err == nil || !strings.Contains(out, "sub/nested.txt: FAILED") {
		t.Fatalf("sha256sum -c accepts a changed file: %v\n%s", err, out)
	}
}

// TestSumCacheReuse checks that unchanged files are not hashed again and
// that a change of content, time or identity is noticed.
func TestSumCacheReuse(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	c := newSumCache(1000)
	first := sumsOf(t, c, view, "")
	_, files := wantSums(tree.want)
	if got := c.hashed.Load(); got != int64(files) {
		t.Fatalf("first run hashed %d files, want %d", got, files)
	}
	if second := sumsOf(t, c, view, ""); second != first || c.hashed.Load() != int64(files) || c.reused.Load() != int64(files) {
		t.Fatalf("second run: hashed %d, reused %d, same output %v", c.hashed.Load(), c.reused.Load(), second == first)
	}

	// Same size, new bytes and a new time.
	nested := filepath.Join(tree.root, "sub/nested.txt")
	mustWrite(t, nested, []byte("NESTED\n"))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(nested, later, later); err != nil {
		t.Fatal(err)
	}
	expectRehash(t, c, view, "sub/nested.txt", []byte("NESTED\n"), int64(files)+1)

	// Same size and time, but another file put in its place (new inode).
	info, err := os.Stat(nested)
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(tree.root, "sub/fresh.tmp")
	mustWrite(t, fresh, []byte("nEsTeD\n"))
	if err := os.Chtimes(fresh, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fresh, nested); err != nil {
		t.Fatal(err)
	}
	expectRehash(t, c, view, "sub/nested.txt", []byte("nEsTeD\n"), int64(files)+2)
}

// expectRehash runs writeSums and checks that exactly one more file was
// hashed in total and that rel now has the digest of data.
func expectRehash(t *testing.T, c *sumCache, view sharefs.View, rel string, data []byte, hashed int64) {
	t.Helper()
	sums := sumsOf(t, c, view, "")
	if got := c.hashed.Load(); got != hashed {
		t.Errorf("files hashed: %d, want %d", got, hashed)
	}
	d := sha256.Sum256(data)
	if !strings.Contains(sums, sumLine(d[:], rel)) {
		t.Errorf("sums lack the new digest of %q:\n%s", rel, sums)
	}
}

func TestSumCacheBound(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	c := newSumCache(3)
	sumsOf(t, c, view, "")
	if n := c.len(); n != 3 {
		t.Errorf("cache holds %d digests, want 3", n)
	}

	c = newSumCache(2)
	var a, b, d [sha256.Size]byte
	a[0], b[0], d[0] = 1, 2, 3
	st := statOf(t, view, "sub/nested.txt").Version
	c.store("a", st, a)
	c.store("b", st, b)
	if _, ok := c.lookup("a", st); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.store("d", st, d)
	if _, ok := c.lookup("b", st); ok {
		t.Error("b, the least recently used, was kept")
	}
	for name, want := range map[string][sha256.Size]byte{"a": a, "d": d} {
		if got, ok := c.lookup(name, st); !ok || got != want {
			t.Errorf("%s: %v %x", name, ok, got[:1])
		}
	}
	if _, ok := c.lookup("a", statOf(t, view, "sub").Version); ok {
		t.Error("a digest served for another stamp")
	}
}

// TestWriteSumsConcurrent shares one cache between simultaneous requests.
func TestWriteSumsConcurrent(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	want, _ := wantSums(tree.want)
	c := newSumCache(8)
	var wg sync.WaitGroup
	outs := make([]string, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Go(func() {
			var b bytes.Buffer
			errs[i] = c.writeSums(context.Background(), &b, view, "")
			outs[i] = b.String()
		})
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || outs[i] != want {
			t.Errorf("request %d: %v, output equal: %v", i, errs[i], outs[i] == want)
		}
	}
}

func TestWriteSumsErrors(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		view    sharefs.View
		dir     string
		wantErr error
	}{
		{"client gone", ctx, view, "", context.Canceled},
		{"missing folder", context.Background(), view, "nope", os.ErrNotExist},
		{"not a folder", context.Background(), view, "a&b.txt", sharefs.ErrNotDir},
		{"read error", context.Background(), faultView{View: view, failing: "random.bin"}, "", errDisk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := newSumCache(10).writeSums(tt.ctx, &b, tt.view, tt.dir)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// statOf describes name in view, or fails the test.
func statOf(t *testing.T, view sharefs.View, name string) sharefs.Entry {
	t.Helper()
	e, err := view.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
