package httpshare

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/share/sharefs"
)

// fetchFile downloads url with a real HTTP client into a new file and
// returns its path and the error that ended the body, if any (a cut
// download).
func fetchFile(t *testing.T, url string) (string, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	name := filepath.Join(t.TempDir(), "download")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return name, err
}

// pyEntry is one entry as Python's zipfile reads it from the central
// directory.
type pyEntry struct {
	Name   string `json:"name"`
	Dir    bool   `json:"dir"`
	Flags  int    `json:"flags"`
	Method int    `json:"method"`
	Size   int64  `json:"size"`
	Offset int64  `json:"offset"`
	Time   [6]int `json:"time"`
}

// pyZip is what pyZipScript prints.
type pyZip struct {
	Entries []pyEntry `json:"entries"`
	Bad     *string   `json:"bad"`  // the first entry whose CRC fails, when tested
	Read    string    `json:"read"` // the bytes of the entry asked for
}

// pyZipScript lists a zip with Python's zipfile, tests every entry's CRC
// when asked, and reads one entry.
const pyZipScript = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    out = {"entries": [{"name": i.filename, "dir": i.is_dir(), "flags": i.flag_bits,
        "method": i.compress_type, "size": i.file_size, "offset": i.header_offset,
        "time": list(i.date_time)} for i in z.infolist()]}
    out["bad"] = z.testzip() if sys.argv[2] == "test" else None
    out["read"] = z.read(sys.argv[3]).decode() if sys.argv[3] else ""
    print(json.dumps(out))
`

// readPyZip runs pyZipScript on file; test makes it check every CRC, read
// names an entry to return the bytes of.
func readPyZip(t *testing.T, file string, test bool, read string) (pyZip, error) {
	t.Helper()
	mode := "list"
	if test {
		mode = "test"
	}
	out, err := runTool(t, "python3", "-c", pyZipScript, file, mode, read)
	if err != nil {
		return pyZip{}, fmt.Errorf("python3 zipfile: %w\n%s", err, out)
	}
	var z pyZip
	if err := json.Unmarshal([]byte(out), &z); err != nil {
		return pyZip{}, fmt.Errorf("python3 zipfile output: %w\n%s", err, out)
	}
	return z, nil
}

// TestZipOverHTTP downloads the test tree's zip from a real server and
// checks it with Python's zipfile (names, flags, sizes, MS-DOS times,
// every CRC) and bsdtar (an unpacked copy equal to the tree).
func TestZipOverHTTP(t *testing.T) {
	tree := buildArchTree(t)
	ts := startServer(t, openView(t, tree.root, sharefs.Options{}), nil)
	file, err := fetchFile(t, ts.URL+"/?zip")
	if err != nil {
		t.Fatal(err)
	}
	z, err := readPyZip(t, file, true, "share/ünïcødé/日本語.txt")
	if err != nil {
		t.Fatal(err)
	}
	if z.Bad != nil {
		t.Errorf("python3 zipfile: bad CRC in %q", *z.Bad)
	}
	if z.Read != "こんにちは\n" {
		t.Errorf("python3 zipfile read %q", z.Read)
	}
	if len(z.Entries) != len(tree.want) {
		t.Fatalf("python3 zipfile lists %d entries, want %d", len(z.Entries), len(tree.want))
	}
	for i, w := range tree.want {
		checkPyEntry(t, z.Entries[i], w)
	}

	out := t.TempDir()
	if msg, err := runTool(t, "bsdtar", "-xf", file, "-C", out); err != nil {
		t.Fatalf("bsdtar -xf: %v\n%s", err, msg)
	}
	compareUnpacked(t, filepath.Join(out, "share"), tree.want, tarName)
}

// checkPyEntry compares one entry as Python read it with the tree's.
func checkPyEntry(t *testing.T, g pyEntry, w archEntry) {
	t.Helper()
	name := path.Join("share", w.rel)
	if w.isDir {
		name += "/"
	}
	if g.Name != name || g.Dir != w.isDir || g.Size != int64(len(w.data)) {
		t.Errorf("python3 zipfile: %q dir %v %d bytes, want %q dir %v %d bytes", g.Name, g.Dir, g.Size, name, w.isDir, len(w.data))
	}
	if utf8Flag := g.Flags&0x800 != 0; utf8Flag != zipNeedsUTF8(name) {
		t.Errorf("%q: UTF-8 flag %v", g.Name, utf8Flag)
	}
	if descriptor := g.Flags&0x8 != 0; descriptor == w.isDir {
		t.Errorf("%q: data descriptor flag %v", g.Name, descriptor)
	}
	m := w.mtime.Local()
	want := [6]int{m.Year(), int(m.Month()), m.Day(), m.Hour(), m.Minute(), m.Second() &^ 1}
	if g.Time != want {
		t.Errorf("%q: MS-DOS time %v, want %v", g.Name, g.Time, want)
	}
}

// setZipIndexLimit lowers the index limit for one test; the server using
// it must be started after, so that it is shut down before the limit is
// put back.
func setZipIndexLimit(t *testing.T, n int) {
	old := zipIndexLimit
	zipIndexLimit = n
	t.Cleanup(func() { zipIndexLimit = old })
}

// indexBytes is what the index of a zip of names takes.
func indexBytes(names []string) int {
	n := 0
	for _, name := range names {
		n += zipRecordSize + len(name)
	}
	return n
}

// flatTree makes a folder of n files of 8 KiB that do not compress, and
// returns it and the names of its zip's entries.
func flatTree(t *testing.T, n int) (string, []string) {
	root := t.TempDir()
	names := []string{"share/"}
	for i := range n {
		name := fmt.Sprintf("f-%02d.txt", i)
		data := make([]byte, 8<<10)
		rand.Read(data)
		mustWrite(t, filepath.Join(root, name), data)
		names = append(names, "share/"+name)
	}
	return root, names
}

// TestZipIndexLimitEdge writes a zip whose index just fits the limit, and
// the same with one byte less, which stops before the last entry.
func TestZipIndexLimitEdge(t *testing.T) {
	root, names := flatTree(t, 40)
	view := openView(t, root, sharefs.Options{})
	limit := indexBytes(names)
	for _, tt := range []struct {
		limit int
		full  bool
	}{{limit, true}, {limit - 1, false}} {
		var buf bytes.Buffer
		zw := newZipWriter(&buf, tt.limit)
		err := sharefs.Walk(context.Background(), view, "", func(rel string, e sharefs.Entry) error {
			return addZipEntry(context.Background(), zw, view, rel, path.Join("share", rel), e, make([]byte, 4096))
		})
		if !tt.full {
			if !errors.Is(err, errZipFull) || zw.index.count != len(names)-1 {
				t.Errorf("limit %d: %v after %d entries, want errZipFull after %d", tt.limit, err, zw.index.count, len(names)-1)
			}
			continue
		}
		if err == nil {
			err = zw.close()
		}
		if err != nil {
			t.Fatalf("limit %d: %v", tt.limit, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range zr.File {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, names) {
			t.Errorf("entries %q, want %q", got, names)
		}
	}
}

// TestZipIndexLimit checks that a zip whose index would pass the limit
// ends without a central directory, so that every client fails the
// download, and that the server's log says why.
func TestZipIndexLimit(t *testing.T) {
	root, names := flatTree(t, 40)
	setZipIndexLimit(t, indexBytes(names[:20]))
	ts := startServer(t, openView(t, root, sharefs.Options{}), nil)
	file, err := fetchFile(t, ts.URL+"/?zip")
	if err == nil {
		t.Fatal("the download of a zip past the limit ended cleanly")
	}
	data, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if bytes.Contains(data, []byte("PK\x01\x02")) || bytes.Contains(data, []byte("PK\x05\x06")) {
		t.Errorf("the cut zip holds central directory records")
	}
	if out, err := runTool(t, "unzip", "-t", file); err == nil {
		t.Errorf("unzip -t accepts the cut zip:\n%s", out)
	}
	if _, err := readPyZip(t, file, true, ""); err == nil {
		t.Errorf("python3 zipfile accepts the cut zip")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.logs.String(), errZipFull.Error()) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say why the zip stopped:\n%s", ts.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestZipIndexesShared: the zips being made at once share one bound on
// their indexes: with the shared space taken, a zip stops with why in the
// log; a finished zip gives its share back.
func TestZipIndexesShared(t *testing.T) {
	root, _ := flatTree(t, 40)
	old := zipIndexes
	zipIndexes = &bytePool{left: zipIndexStep}
	t.Cleanup(func() { zipIndexes = old })
	ts := startServer(t, openView(t, root, sharefs.Options{}), nil)
	if _, err := fetchFile(t, ts.URL+"/?zip"); err != nil {
		t.Fatalf("a zip within the shared space: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !zipIndexes.take(zipIndexStep) { // as if other zips held it all
		if time.Now().After(deadline) {
			t.Fatal("the finished zip did not give its index space back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := fetchFile(t, ts.URL+"/?zip"); err == nil {
		t.Fatal("a zip with no index space left ended cleanly")
	}
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.logs.String(), "hold all their index space") {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say why the zip stopped:\n%s", ts.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMSDOSTime(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		t    time.Time
		want [6]int // year, month, day, hour, minute, second
	}{
		{time.Date(2021, 3, 4, 5, 6, 7, 500, utc), [6]int{2021, 3, 4, 5, 6, 6}},
		{time.Date(1980, 1, 1, 0, 0, 0, 0, utc), [6]int{1980, 1, 1, 0, 0, 0}},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, utc), [6]int{1980, 1, 1, 0, 0, 0}},
		{time.Date(2107, 12, 31, 23, 59, 59, 0, utc), [6]int{2107, 12, 31, 23, 59, 58}},
		{time.Date(2200, 6, 1, 0, 0, 0, 0, utc), [6]int{2107, 12, 31, 23, 59, 58}},
		{time.Date(2024, 2, 29, 12, 0, 0, 0, time.FixedZone("x", 3600)), [6]int{2024, 2, 29, 12, 0, 0}},
	}
	for _, tt := range tests {
		v := msDosTime(tt.t)
		date, clock := v>>16, v&0xffff
		got := [6]int{int(date>>9) + 1980, int(date >> 5 & 15), int(date & 31), int(clock >> 11), int(clock >> 5 & 63), int(clock&31) * 2}
		if got != tt.want {
			t.Errorf("msDosTime(%v) = %v, want %v", tt.t, got, tt.want)
		}
	}
}

func TestZipNeedsUTF8(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"plain/name-1.txt", false},
		{"a b&c#{}|.txt", false},
		{"ünïcødé", true},
		{"line\nbreak", true},
		{`back\slash`, true},
		{"tilde~", true},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		if got := zipNeedsUTF8(tt.name); got != tt.want {
			t.Errorf("zipNeedsUTF8(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// tmpfsDir is a new folder on tmpfs when there is one (many small files
// are made faster there), removed with the test.
func tmpfsDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "httpshare-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// sparseWriter writes to a file, seeking over runs of zeros, so that an
// archive of sparse files stays sparse on disk where holes are kept.
type sparseWriter struct {
	f   *os.File
	off int64
}

var sparseZeros = make([]byte, 64<<10)

func (s *sparseWriter) Write(p []byte) (int, error) {
	for done := 0; done < len(p); {
		chunk := p[done:min(len(p), done+len(sparseZeros))]
		if !bytes.Equal(chunk, sparseZeros[:len(chunk)]) {
			if _, err := s.f.WriteAt(chunk, s.off); err != nil {
				return done, err
			}
		}
		s.off += int64(len(chunk))
		done += len(chunk)
	}
	return len(p), nil
}

// Close gives the file its full size, holes at the end included.
func (s *sparseWriter) Close() error {
	if err := s.f.Truncate(s.off); err != nil {
		return err
	}
	return s.f.Close()
}
