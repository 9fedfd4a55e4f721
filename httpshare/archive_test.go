package httpshare

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// archEntry is one entry a walk of the test tree must produce.
type archEntry struct {
	rel   string // slash path relative to the tree's root; "" for the root
	isDir bool
	data  []byte
	mtime time.Time
}

// archTree is a folder made for the tests: awkward names, links inside and
// outside, a link loop, hidden entries. want lists what the view shows, in
// the view's order.
type archTree struct {
	root string
	want []archEntry
}

// archBase is the first modification time given in the test tree; every
// entry gets its own hour after it, with half a second to check rounding.
var archBase = time.Date(2021, 3, 4, 5, 6, 7, 500_000_000, time.UTC)

// buildArchTree makes the test tree. Paths in want are in the order the
// view lists them: folders first, then files, each in natural order.
func buildArchTree(t testing.TB) archTree {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	compressible := bytes.Repeat([]byte("the same line again and again\n"), 10000)
	long := strings.Repeat("x", 200) + ".txt"
	tree := archTree{root: t.TempDir()}
	// Order matters: it is the expected order of the view.
	tree.want = []archEntry{
		{rel: "", isDir: true},
		{rel: "empty-folder", isDir: true},
		{rel: "linked-folder", isDir: true}, // link to ünïcødé
		{rel: "linked-folder/日本語.txt"},      // through the link
		{rel: "sub", isDir: true},           // holds loop -> .. (skipped)
		{rel: "sub/deeper", isDir: true},    // holds up -> .. (skipped)
		{rel: "sub/deeper/file2.txt", data: []byte("two\n")},
		{rel: "sub/deeper/file10.txt", data: []byte("ten\n")},
		{rel: "sub/nested.txt", data: []byte("nested\n")},
		{rel: "ünïcødé", isDir: true},
		{rel: "ünïcødé/日本語.txt", data: []byte("こんにちは\n")},
		{rel: "100%.txt", data: []byte("percent\n")},
		{rel: "a file with spaces.txt", data: []byte("spaces\n")},
		{rel: "a&b.txt", data: []byte("ampersand\n")},
		{rel: "carriage\rreturn.txt", data: []byte("cr\n")},
		{rel: "emoji 🎉.txt", data: []byte("party\n")},
		{rel: "empty.txt", data: []byte{}},
		{rel: "hash#tag.txt", data: []byte("hash\n")},
		{rel: "inside-link.txt"}, // link to "a file with spaces.txt"
		{rel: "line\nbreak.txt", data: []byte("newline\n")},
		{rel: "photo.jpg", data: random(200 << 10)},
		{rel: "random.bin", data: append(random(100<<10), compressible...)},
		{rel: "what?.txt", data: []byte("question\n")},
		{rel: long, data: []byte("long name\n")},
	}
	outside := t.TempDir()
	mustWrite(t, filepath.Join(outside, "secret.txt"), []byte("secret\n"))
	for _, d := range []string{"empty-folder", "sub/deeper", "ünïcødé", ".hiddendir"} {
		if err := os.MkdirAll(filepath.Join(tree.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range tree.want {
		if !e.isDir && e.data != nil {
			mustWrite(t, filepath.Join(tree.root, e.rel), e.data)
		}
	}
	mustWrite(t, filepath.Join(tree.root, ".hidden"), []byte("hidden\n"))
	mustWrite(t, filepath.Join(tree.root, ".hiddendir/x.txt"), []byte("hidden too\n"))
	links := map[string]string{
		"inside-link.txt":   "a file with spaces.txt",
		"linked-folder":     "ünïcødé",
		"sub/loop":          "..",
		"sub/deeper/up":     "..",
		"outside":           filepath.Join(outside, "secret.txt"),
		"outsidedir":        outside,
		"sub/outside-rel":   "../../" + filepath.Base(outside) + "/secret.txt",
		"dangling-link.txt": "does-not-exist.txt",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(tree.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tree.setTimes(t)
	return tree
}

// setTimes gives every real entry its own modification time, deepest
// first so that setting a file's time does not move its folder's, and
// copies data and times of link targets into the entries seen through links.
func (tree *archTree) setTimes(t testing.TB) {
	t.Helper()
	for i := len(tree.want) - 1; i >= 0; i-- {
		e := &tree.want[i]
		e.mtime = archBase.Add(time.Duration(i) * time.Hour)
		p := filepath.Join(tree.root, e.rel)
		if fi, err := os.Lstat(p); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			continue
		}
		if err := os.Chtimes(p, e.mtime, e.mtime); err != nil {
			t.Fatal(err)
		}
	}
	for i := range tree.want {
		e := &tree.want[i]
		fi, err := os.Stat(filepath.Join(tree.root, e.rel))
		if err != nil {
			t.Fatal(err)
		}
		e.mtime = fi.ModTime()
		if e.data == nil && !e.isDir {
			data, err := os.ReadFile(filepath.Join(tree.root, e.rel))
			if err != nil {
				t.Fatal(err)
			}
			e.data = data
		}
	}
}

// under returns the entries of want inside folder dir, with paths made
// relative to it.
func (tree *archTree) under(dir string) []archEntry {
	var out []archEntry
	for _, e := range tree.want {
		switch {
		case e.rel == dir:
			e.rel = ""
		case dir == "" || strings.HasPrefix(e.rel, dir+"/"):
			e.rel = strings.TrimPrefix(strings.TrimPrefix(e.rel, dir), "/")
		default:
			continue
		}
		out = append(out, e)
	}
	return out
}

func mustWrite(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openView(t testing.TB, root string, opts sharefs.Options) *sharefs.Dir {
	t.Helper()
	v, err := sharefs.New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// archFormat is one archive writer under test with its readers.
type archFormat struct {
	ext   string
	write func(context.Context, io.Writer, sharefs.View, string) error
	read  func(t *testing.T, file string) ([]archEntry, error)
	// check runs the system's tool on a complete archive file.
	check func(t *testing.T, file string)
	// extract unpacks an archive file into dir with the system's tool.
	extract func(t *testing.T, file, dir string)
	// unpacked is the name extract gives an entry.
	unpacked func(name string) string
}

var archFormats = []archFormat{
	{ext: "zip", write: func(ctx context.Context, w io.Writer, v sharefs.View, dir string) error {
		return writeZip(ctx, w, v, defaultRootName, dir)
	}, read: readZipFile, check: checkUnzip, extract: extractUnzip, unpacked: unzipName},
	{ext: "tar.gz", write: func(ctx context.Context, w io.Writer, v sharefs.View, dir string) error {
		return writeTarGz(ctx, w, v, defaultRootName, dir)
	}, read: readTarGzFile, check: checkTar, extract: extractTar, unpacked: tarName},
}

// readZipFile reads a zip with Go's reader, every entry's bytes included.
func readZipFile(t *testing.T, file string) ([]archEntry, error) {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []archEntry
	for _, f := range zr.File {
		e := archEntry{rel: strings.TrimSuffix(f.Name, "/"), isDir: strings.HasSuffix(f.Name, "/"), mtime: f.Modified}
		if e.isDir != f.FileInfo().IsDir() {
			t.Errorf("%q: mode %v disagrees with its name", f.Name, f.Mode())
		}
		if f.Flags&0x800 == 0 && !isASCII(f.Name) {
			t.Errorf("%q: UTF-8 flag not set", f.Name)
		}
		if !e.isDir {
			if e.data, err = readZipEntry(f); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func readZipEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// readTarGzFile reads a tar.gz with Go's readers, every entry's bytes
// included. It fails on any stream that does not end properly.
func readTarGzFile(t *testing.T, file string) ([]archEntry, error) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	var out []archEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !isASCII(hdr.Name) && hdr.Format&tar.FormatPAX == 0 {
			t.Errorf("%q: non-ASCII name without a PAX record (format %v)", hdr.Name, hdr.Format)
		}
		e := archEntry{rel: strings.TrimSuffix(hdr.Name, "/"), isDir: hdr.Typeflag == tar.TypeDir, mtime: hdr.ModTime}
		if !e.isDir {
			if e.data, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	// The gzip trailer (CRC and length) is checked only at its EOF.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, err
	}
	return out, nil
}

// compareEntries checks got against want, in order, with paths of want
// prefixed by the archive's folder name.
func compareEntries(t *testing.T, prefix string, got, want []archEntry) {
	t.Helper()
	names := func(es []archEntry, prefix string) []string {
		var out []string
		for _, e := range es {
			out = append(out, path.Join(prefix, e.rel))
		}
		return out
	}
	if g, w := names(got, ""), names(want, prefix); !slices.Equal(g, w) {
		t.Fatalf("entries\n got %q\nwant %q", g, w)
	}
	for i, w := range want {
		g := got[i]
		if g.isDir != w.isDir || !bytes.Equal(g.data, w.data) {
			t.Errorf("%q: dir %v, %d bytes; want dir %v, %d bytes", g.rel, g.isDir, len(g.data), w.isDir, len(w.data))
		}
		if g.mtime.Unix() != w.mtime.Unix() {
			t.Errorf("%q: modified %v, want %v", g.rel, g.mtime.UTC(), w.mtime.UTC())
		}
	}
}

// writeArchive writes an archive of dir to a new file and returns its path.
func writeArchive(t *testing.T, f archFormat, view sharefs.View, dir string) (string, error) {
	t.Helper()
	name := filepath.Join(t.TempDir(), archiveName(defaultRootName, dir, f.ext))
	out, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	werr := f.write(context.Background(), out, view, dir)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return name, werr
}

func TestArchiveName(t *testing.T) {
	tests := []struct{ dir, ext, want string }{
		{"", "zip", "share.zip"},
		{"/", "tar.gz", "share.tar.gz"},
		{"/a/photos/", "zip", "photos.zip"},
		{"docs", "tar.gz", "docs.tar.gz"},
		{"a b/ü 🎉", "zip", "ü 🎉.zip"},
	}
	for _, tt := range tests {
		if got := archiveName(defaultRootName, tt.dir, tt.ext); got != tt.want {
			t.Errorf("archiveName(%q, %q) = %q, want %q", tt.dir, tt.ext, got, tt.want)
		}
	}
}

// TestArchiveContents reads archives of the whole tree and of sub-folders
// back with Go's readers: names, order, bytes and times.
func TestArchiveContents(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	dirs := []struct{ dir, rel, prefix string }{
		{"", "", "share"},
		{"/", "", "share"},
		{"sub", "sub", "sub"},
		{"/sub/deeper/", "sub/deeper", "deeper"},
		{"linked-folder", "linked-folder", "linked-folder"},
		{"empty-folder", "empty-folder", "empty-folder"},
	}
	for _, f := range archFormats {
		for _, d := range dirs {
			t.Run(f.ext+"/"+d.dir, func(t *testing.T) {
				file, err := writeArchive(t, f, view, d.dir)
				if err != nil {
					t.Fatal(err)
				}
				got, err := f.read(t, file)
				if err != nil {
					t.Fatal(err)
				}
				compareEntries(t, d.prefix, got, tree.under(d.rel))
			})
		}
	}
}

// TestArchiveHidden checks that the view's policy decides: with Hidden the
// dot-files are archived too.
func TestArchiveHidden(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{Hidden: true})
	for _, f := range archFormats {
		t.Run(f.ext, func(t *testing.T) {
			file, err := writeArchive(t, f, view, "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.read(t, file)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.rel)
			}
			for _, want := range []string{"share/.hidden", "share/.hiddendir", "share/.hiddendir/x.txt"} {
				if !slices.Contains(names, want) {
					t.Errorf("%q missing from %q", want, names)
				}
			}
			for _, never := range []string{"share/outside", "share/outsidedir", "share/sub/outside-rel", "share/dangling-link.txt"} {
				if slices.Contains(names, never) {
					t.Errorf("%q archived", never)
				}
			}
		})
	}
}

func TestZipMethods(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	file, err := writeArchive(t, archFormats[0], view, "")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := map[string]uint16{
		"share/":           zip.Store,
		"share/photo.jpg":  zip.Store,
		"share/empty.txt":  zip.Store,
		"share/random.bin": zip.Deflate,
		"share/100%.txt":   zip.Deflate,
	}
	for _, f := range zr.File {
		if m, ok := want[f.Name]; ok && f.Method != m {
			t.Errorf("%q: method %d, want %d", f.Name, f.Method, m)
		}
		if f.Name == "share/random.bin" && f.CompressedSize64 >= f.UncompressedSize64 {
			t.Errorf("random.bin not compressed: %d of %d bytes", f.CompressedSize64, f.UncompressedSize64)
		}
	}
}

// TestArchiveTools checks the archives with the system's unzip and tar:
// integrity, listing, and an unpacked copy equal to the view's tree.
func TestArchiveTools(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	for _, f := range archFormats {
		t.Run(f.ext, func(t *testing.T) {
			file, err := writeArchive(t, f, view, "")
			if err != nil {
				t.Fatal(err)
			}
			f.check(t, file)
			out := t.TempDir()
			f.extract(t, file, out)
			compareUnpacked(t, filepath.Join(out, "share"), tree.want, f.unpacked)
		})
	}
}

// runTool runs a program with a UTF-8 locale and returns its output.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testutil.NeedTool(t, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// printable reports whether the tools print a name as it is.
func printable(name string) bool {
	return !strings.ContainsAny(name, "\n\r")
}

// listedNames is the names the tools should list for the tree, without the
// ones they escape.
func listedNames(want []archEntry, dirSuffix string) []string {
	var names []string
	for _, e := range want {
		if !printable(e.rel) {
			continue
		}
		n := path.Join("share", e.rel)
		if e.isDir {
			n += dirSuffix
		}
		names = append(names, n)
	}
	return names
}

// unzipName is the name unzip gives a file: it drops control characters.
func unzipName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 {
			return -1
		}
		return r
	}, name)
}

// tarName is the name tar gives a file: the name in the archive.
func tarName(name string) string { return name }

func checkUnzip(t *testing.T, file string) {
	t.Helper()
	out, err := runTool(t, "unzip", "-t", file)
	if err != nil || !strings.Contains(out, "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
}

func extractUnzip(t *testing.T, file, dir string) {
	t.Helper()
	if out, err := runTool(t, "unzip", "-q", file, "-d", dir); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
}

func checkTar(t *testing.T, file string) {
	t.Helper()
	if out, err := runTool(t, "tar", "-tzf", file); err != nil {
		t.Fatalf("tar -tzf: %v\n%s", err, out)
	}
}

func extractTar(t *testing.T, file, dir string) {
	t.Helper()
	if out, err := runTool(t, "tar", "-xzf", file, "-C", dir); err != nil {
		t.Fatalf("tar -xzf: %v\n%s", err, out)
	}
}

// TestArchiveListings compares the names unzip -l and tar -tzf print with
// the tree.
func TestArchiveListings(t *testing.T) {
	tree := buildArchTree(t)
	view := openView(t, tree.root, sharefs.Options{})
	zipFile, err := writeArchive(t, archFormats[0], view, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, "unzip", "-Z1", zipFile)
	if err != nil {
		t.Fatalf("unzip -Z1: %v\n%s", err, out)
	}
	if got, want := keepPrintable(out), listedNames(tree.want, "/"); !slices.Equal(got, want) {
		t.Errorf("unzip -Z1 lists\n%q\nwant\n%q", got, want)
	}
	if out, err = runTool(t, "unzip", "-l", zipFile); err != nil || !strings.Contains(out, fmt.Sprintf("%d files", len(tree.want))) {
		t.Errorf("unzip -l: %v, want %d files\n%s", err, len(tree.want), out)
	}
	tarFile, err := writeArchive(t, archFormats[1], view, "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err = runTool(t, "tar", "-tzf", tarFile); err != nil {
		t.Fatalf("tar -tzf: %v\n%s", err, out)
	}
	if got, want := keepPrintable(out), listedNames(tree.want, "/"); !slices.Equal(got, want) {
		t.Errorf("tar -tzf lists\n%q\nwant\n%q", got, want)
	}
}

// keepPrintable splits a tool's listing into lines, dropping those of
// names the tool escapes (they hold a backslash once printed).
func keepPrintable(out string) []string {
	var lines []string
	for l := range strings.Lines(out) {
		l = strings.TrimSuffix(l, "\n")
		if l != "" && !strings.Contains(l, `\`) && !strings.Contains(l, "^") {
			lines = append(lines, l)
		}
	}
	return lines
}

// compareUnpacked checks that folder dir holds exactly the entries of
// want, with their bytes and modification times.
func compareUnpacked(t *testing.T, dir string, want []archEntry, unpacked func(string) string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want = slices.Clone(want)
	var wantNames []string
	for i, e := range want {
		want[i].rel = unpacked(e.rel)
		wantNames = append(wantNames, want[i].rel)
	}
	slices.Sort(got)
	slices.Sort(wantNames)
	if !slices.Equal(got, wantNames) {
		t.Fatalf("unpacked\n%q\nwant\n%q", got, wantNames)
	}
	for _, e := range want {
		p := filepath.Join(dir, e.rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() != e.isDir || (!e.isDir && !fi.Mode().IsRegular()) {
			t.Errorf("%q: mode %v", e.rel, fi.Mode())
			continue
		}
		if fi.ModTime().Unix() != e.mtime.Unix() {
			t.Errorf("%q: unpacked with time %v, want %v", e.rel, fi.ModTime().UTC(), e.mtime.UTC())
		}
		if !e.isDir {
			data, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(data, e.data) {
				t.Errorf("%q: unpacked bytes differ (%v)", e.rel, err)
			}
		}
	}
}

// faultView wraps a view to break the tree under a walk: afterList runs
// after every listing, failing opens fail reads of one file part-way.
type faultView struct {
	sharefs.View
	afterList  func(name string)
	failing    string
	unreadable string // Open fails with a permission error
}

// errDisk is the read error faultView injects.
var errDisk = errors.New("injected read error")

func (v faultView) List(name string) ([]sharefs.Entry, error) {
	entries, err := v.View.List(name)
	if v.afterList != nil {
		v.afterList(name)
	}
	return entries, err
}

func (v faultView) Open(name string) (sharefs.File, error) {
	if name == v.unreadable {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	f, err := v.View.Open(name)
	if err != nil || name != v.failing {
		return f, err
	}
	return &failingFile{File: f, left: 1000}, nil
}

// failingFile reads its first bytes, then fails.
type failingFile struct {
	sharefs.File
	left int
}

func (f *failingFile) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errDisk
	}
	n, err := f.File.Read(p[:min(len(p), f.left)])
	f.left -= n
	return n, err
}

// cancelingWriter cancels a context once more than limit bytes went
// through it, like a client that goes away mid-download.
type cancelingWriter struct {
	w      io.Writer
	n      int64
	limit  int64
	cancel context.CancelFunc
}

func (c *cancelingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.n > c.limit {
		c.cancel()
	}
	return c.w.Write(p)
}

// TestArchiveFailures checks that a failure part-way returns the cause and
// leaves an archive that no reader takes for complete.
func TestArchiveFailures(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		view    func(root string, v sharefs.View) sharefs.View
		cancel  bool
		wantErr error
		zipOK   bool   // the zip records what it read and stays valid
		leftOut string // the archive is complete without this file
	}{
		{name: "missing folder", dir: "nope", wantErr: fs.ErrNotExist},
		{name: "not a folder", dir: "a&b.txt", wantErr: sharefs.ErrNotDir},
		{name: "hidden folder", dir: ".hiddendir", wantErr: fs.ErrNotExist},
		{
			name: "file vanished", leftOut: "what?.txt",
			view: func(root string, v sharefs.View) sharefs.View {
				return faultView{View: v, afterList: func(name string) {
					os.Remove(filepath.Join(root, "what?.txt"))
				}}
			},
		},
		{
			name: "unreadable file", leftOut: "random.bin",
			view: func(root string, v sharefs.View) sharefs.View {
				return faultView{View: v, unreadable: "random.bin"}
			},
		},
		{
			name: "folder vanished", leftOut: "sub/deeper/file10.txt",
			view: func(root string, v sharefs.View) sharefs.View {
				return faultView{View: v, afterList: func(name string) {
					if name == "sub" {
						os.RemoveAll(filepath.Join(root, "sub/deeper"))
					}
				}}
			},
		},
		{
			name: "file shrank", wantErr: errChanged, zipOK: true,
			view: func(root string, v sharefs.View) sharefs.View {
				return faultView{View: v, afterList: func(name string) {
					os.Truncate(filepath.Join(root, "random.bin"), 10)
				}}
			},
		},
		{
			name: "read error", wantErr: errDisk,
			view: func(root string, v sharefs.View) sharefs.View {
				return faultView{View: v, failing: "random.bin"}
			},
		},
		{name: "client gone", cancel: true, wantErr: context.Canceled},
	}
	for _, f := range archFormats {
		for _, tt := range tests {
			t.Run(f.ext+"/"+tt.name, func(t *testing.T) {
				tree := buildArchTree(t)
				var view sharefs.View = openView(t, tree.root, sharefs.Options{})
				if tt.view != nil {
					view = tt.view(tree.root, view)
				}
				file := filepath.Join(t.TempDir(), "out."+f.ext)
				out, err := os.Create(file)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var w io.Writer = out
				if tt.cancel {
					w = &cancelingWriter{w: out, limit: 64 << 10, cancel: cancel}
				}
				err = f.write(ctx, w, view, tt.dir)
				out.Close()
				if tt.leftOut != "" {
					if err != nil {
						t.Fatalf("%s: %v", f.ext, err)
					}
					entries, rerr := f.read(t, file)
					if rerr != nil {
						t.Fatalf("%s: %v", f.ext, rerr)
					}
					for _, e := range entries {
						// Entry names start with the archive's root folder.
						if strings.HasSuffix(e.rel, "/"+tt.leftOut) {
							t.Errorf("%s holds %s", f.ext, e.rel)
						}
					}
					if len(entries) < 5 {
						t.Errorf("%s holds only %d entries", f.ext, len(entries))
					}
					return
				}
				if f.ext == "zip" && tt.zipOK {
					if err != nil {
						t.Fatalf("zip: %v", err)
					}
					checkUnzip(t, file)
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if _, rerr := f.read(t, file); rerr == nil {
					t.Errorf("the cut archive reads as complete")
				}
			})
		}
	}
}

// TestArchiveCutByTools checks that the system's tools, too, reject an
// archive cut by a failure.
func TestArchiveCutByTools(t *testing.T) {
	tree := buildArchTree(t)
	view := faultView{View: openView(t, tree.root, sharefs.Options{}), failing: "random.bin"}
	zipFile, err := writeArchive(t, archFormats[0], view, "")
	if !errors.Is(err, errDisk) {
		t.Fatalf("zip: %v", err)
	}
	if out, err := runTool(t, "unzip", "-t", zipFile); err == nil {
		t.Errorf("unzip -t accepts a cut zip:\n%s", out)
	}
	tarFile, err := writeArchive(t, archFormats[1], view, "")
	if !errors.Is(err, errDisk) {
		t.Fatalf("tar.gz: %v", err)
	}
	if out, err := runTool(t, "tar", "-tzf", tarFile); err == nil {
		t.Errorf("tar -tzf accepts a cut tar.gz:\n%s", out)
	}
}

// heapWriter writes to w and samples the live heap every step bytes.
type heapWriter struct {
	w       io.Writer
	n, next int64
	step    int64
	peak    uint64
	samples int
}

func (h *heapWriter) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if h.n >= h.next {
		h.next += h.step
		h.sample()
	}
	return h.w.Write(p)
}

func (h *heapWriter) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
	h.samples++
}

// TestZip64Large streams a zip over 4 GiB made from sparse files to a
// sparse file, samples the heap while it streams, and checks the result
// with Go's reader, Python's zipfile (ZIP64 sizes and offsets of the
// central directory) and unzip -t.
func TestZip64Large(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 4 GiB archive")
	}
	testutil.NeedTool(t, "unzip")
	const big = 4<<30 + 5<<20
	out := t.TempDir()
	// The archive keeps the holes of the files on filesystems that have
	// them; the rest is a few megabytes.
	if free := freeBytes(t, out); free < 1<<30 {
		testutil.Skip(t, fmt.Sprintf("needs 1 GiB free in %s, have %d MiB", out, free>>20))
	}
	root := tmpfsDir(t) // holes read fastest there
	sparse := map[string]int64{"big.mp4": big, "zeros.bin": 64 << 20}
	for name, size := range sparse {
		mustWrite(t, filepath.Join(root, name), nil)
		if err := os.Truncate(filepath.Join(root, name), size); err != nil {
			t.Fatal(err)
		}
	}
	tail := []byte("after four gibibytes\n")
	mustWrite(t, filepath.Join(root, "zz-tail.txt"), tail)
	view := openView(t, root, sharefs.Options{})

	file := filepath.Join(out, "big.zip")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	sw := &sparseWriter{f: f}
	runtime.GC()
	hw := &heapWriter{w: sw, step: 256 << 20}
	hw.sample()
	base := hw.peak
	start := time.Now()
	err = writeZip(context.Background(), hw, view, defaultRootName, "")
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(hw.peak) - int64(base)
	t.Logf("streamed %d bytes in %v; heap grew at most %d KiB over %d samples", hw.n, time.Since(start).Round(time.Millisecond), growth>>10, hw.samples)
	if hw.n <= 4<<30 {
		t.Fatalf("archive is %d bytes, want over 4 GiB", hw.n)
	}
	if growth > 64<<20 {
		t.Errorf("heap grew by %d MiB while streaming", growth>>20)
	}
	checkZip64(t, file, sparse, tail)
	checkZip64Python(t, file, big, tail)
	// unzip tests the entries after the big one only: reading 4 GiB of
	// zeros again takes half a minute and checks nothing more.
	if out, err := runTool(t, "unzip", "-t", file, "share/zeros.bin", "share/zz-tail.txt"); err != nil || !strings.Contains(out, "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	if out, err := runTool(t, "unzip", "-l", file); err != nil || !strings.Contains(out, fmt.Sprintf("%d  ", big)) {
		t.Fatalf("unzip -l: %v, want share/big.mp4 of %d bytes\n%s", err, int64(big), out)
	}
}

// checkZip64Python reads the big archive's central directory with
// Python's zipfile: the big file stored with its ZIP64 size, the entry
// after it found at its ZIP64 offset.
func checkZip64Python(t *testing.T, file string, big int64, tail []byte) {
	t.Helper()
	z, err := readPyZip(t, file, false, "share/zz-tail.txt")
	if err != nil {
		t.Fatal(err)
	}
	if z.Read != string(tail) {
		t.Errorf("python3 zipfile read %q past 4 GiB", z.Read)
	}
	for _, e := range z.Entries {
		switch e.Name {
		case "share/big.mp4":
			if e.Size != big || e.Method != zipStore {
				t.Errorf("python3 zipfile: %s %d bytes, method %d", e.Name, e.Size, e.Method)
			}
		case "share/zz-tail.txt":
			if e.Offset <= 4<<30 {
				t.Errorf("python3 zipfile: %s at %d", e.Name, e.Offset)
			}
		}
	}
}

// checkZip64 reads the big archive back with Go's reader: sizes of the
// sparse files, and the bytes of the entries stored past 4 GiB.
func checkZip64(t *testing.T, file string, sparse map[string]int64, tail []byte) {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		base := path.Base(f.Name)
		if size, ok := sparse[base]; ok && f.UncompressedSize64 != uint64(size) {
			t.Errorf("%q: %d bytes, want %d", f.Name, f.UncompressedSize64, size)
		}
		if base == "zeros.bin" || base == "zz-tail.txt" {
			data, err := readZipEntry(f)
			if err != nil {
				t.Fatalf("%q: %v", f.Name, err)
			}
			want := tail
			if base == "zeros.bin" {
				want = make([]byte, sparse[base])
			}
			if !bytes.Equal(data, want) {
				t.Errorf("%q: bytes differ", f.Name)
			}
		}
	}
	want := []string{"share/", "share/big.mp4", "share/zeros.bin", "share/zz-tail.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
}

// TestZip64Entries downloads from a real server the zip of more than
// 65,535 entries, which needs the ZIP64 end of central directory, and
// checks it with Go's reader, Python's zipfile and unzip -t.
func TestZip64Entries(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 66,000 files")
	}
	testutil.NeedTool(t, "unzip")
	root := tmpfsDir(t)
	const folders, perFolder = 6, 11000
	want := []string{"share/"}
	for i := range folders {
		dir := fmt.Sprintf("d%d", i)
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		want = append(want, "share/"+dir+"/")
		for j := range perFolder {
			mustWrite(t, filepath.Join(root, dir, fmt.Sprintf("f%05d", j)), nil)
			want = append(want, fmt.Sprintf("share/%s/f%05d", dir, j))
		}
	}
	slices.Sort(want) // the view's order, as names are of one length
	ts := startServer(t, openView(t, root, sharefs.Options{}), nil)
	file, err := fetchFile(t, ts.URL+"/?zip")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(want) {
		t.Errorf("%d entries, want %d", len(zr.File), len(want))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data[len(data)-200:], []byte("PK\x06\x06")) {
		t.Errorf("no ZIP64 end of central directory record")
	}
	z, err := readPyZip(t, file, false, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range z.Entries {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("python3 zipfile lists %d entries, not the %d of the tree", len(names), len(want))
	}
	out, err := runTool(t, "unzip", "-tq", file)
	if err != nil || !strings.Contains(out, "No errors detected") {
		t.Fatalf("unzip -tq: %v\n%s", err, out)
	}
}

// countingWriter counts the bytes and calls that reach it, like a
// response writer whose every call costs.
type countingWriter struct{ n, calls int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.calls++
	return len(p), nil
}

// BenchmarkArchive measures archive throughput over one compressible
// 32 MiB file, one incompressible 32 MiB file and 1,000 small files.
func BenchmarkArchive(b *testing.B) {
	root := b.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 32<<20)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	mustWrite(b, filepath.Join(root, "noise.mp4"), noise)
	mustWrite(b, filepath.Join(root, "text.txt"), bytes.Repeat([]byte("some log line with a counter 12345\n"), 32<<20/35))
	if err := os.Mkdir(filepath.Join(root, "small"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		mustWrite(b, filepath.Join(root, "small", fmt.Sprintf("f%d.txt", i)), noise[i*1000:i*1000+1000])
	}
	view := openView(b, root, sharefs.Options{})
	for _, f := range archFormats {
		b.Run(f.ext, func(b *testing.B) {
			b.SetBytes(64<<20 + 1000*1000)
			var cw countingWriter
			for b.Loop() {
				if err := f.write(context.Background(), &cw, view, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cw.calls)/float64(b.N), "writes/op")
			b.ReportMetric(float64(cw.n)/float64(b.N)/(1<<20), "MiB-out/op")
		})
	}
}
