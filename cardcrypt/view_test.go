package cardcrypt

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"example.com/share/internal/cardtest"
	"example.com/share/sharefs"
)

func TestViewServesOnlyEncryptedFiles(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("v@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello a"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.bin"), make([]byte, 70_000), 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	for _, armor := range []bool{false, true} {
		e, err := NewEncryptor([]*Key{key}, armor)
		if err != nil {
			t.Fatal(err)
		}
		v := e.View(inner)
		ents, err := v.List("")
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 2 || ents[0].Name != "sub" || !ents[0].IsDir || ents[1].Name != "a.txt"+e.Suffix() {
			t.Fatalf("listing %+v", ents)
		}
		for _, name := range []string{"a.txt", "sub/b.bin"} {
			if _, err := v.Stat(name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(%q) = %v, want not exist", name, err)
			}
			if _, err := v.Open(name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q) = %v, want not exist", name, err)
			}
			ent, err := v.Stat(name + e.Suffix())
			if err != nil {
				t.Fatal(err)
			}
			f, err := v.Open(name + e.Suffix())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.(io.Seeker); !ok {
				t.Error("encrypted file of the disk is no io.Seeker")
			}
			msg, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(msg)) != ent.Size {
				t.Errorf("%s: read %d bytes, Stat said %d", name, len(msg), ent.Size)
			}
			want, _ := os.ReadFile(filepath.Join(dir, name))
			if got := g.Run(msg, "--decrypt"); string(got) != string(want) {
				t.Errorf("%s: decrypted %d bytes differ from the %d of the file", name, len(got), len(want))
			}
		}
	}
}

func TestClosingAnEncryptedStreamEarly(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("c@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	e, _ := NewEncryptor([]*Key{key}, false)
	f, err := e.View(inner).Open("big.gpg")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(buf); err == nil {
		t.Fatal("read after Close succeeded")
	}
}

// TestConcurrentDownloads reads one file through the view from several
// goroutines at once; every message is the same and decrypts.
func TestConcurrentDownloads(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("p@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := make([]byte, 200_000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(dir, "f"), want, 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	e, _ := NewEncryptor([]*Key{key}, false)
	v := e.View(inner)
	const n = 8
	msgs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			f, err := v.Open("f.gpg")
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Close()
			msgs[i], errs[i] = io.ReadAll(f)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(msgs[i], msgs[0]) {
			t.Errorf("download %d differs from the first: one version must be one message", i)
		}
	}
	if got := g.Run(msgs[0], "--decrypt"); !bytes.Equal(got, want) {
		t.Error("the download does not decrypt to the file")
	}
}

// TestWriteTo checks the path io.Copy takes: WriteTo alone, and WriteTo
// after a Read has left part of a chunk buffered, binary and armored,
// give the announced size and decrypt to the file.
func TestWriteTo(t *testing.T) { testWriteTo(t) }

// TestWithoutSHAInstructions runs the tests of the paths that depend on
// the SHA instructions as on a CPU without them.
func TestWithoutSHAInstructions(t *testing.T) {
	if !useStitched {
		t.Skip("no SHA instructions: the other tests ran these paths")
	}
	useStitched = false
	t.Cleanup(func() { useStitched = true })
	t.Run("WriteTo", testWriteTo)
	t.Run("ReadSizes", testReadSizes)
	t.Run("FailingWriter", testWriteToFailingWriter)
	t.Run("FileChangesSize", testWriteToFileChangesSize)
}

func testWriteTo(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("w@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := make([]byte, 3*streamChunk+12345)
	for i := range want {
		want[i] = byte(i * 13)
	}
	os.WriteFile(filepath.Join(dir, "f"), want, 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	for _, armor := range []bool{false, true} {
		e, _ := NewEncryptor([]*Key{key}, armor)
		v := e.View(inner)
		ent, err := v.Stat("f" + e.Suffix())
		if err != nil {
			t.Fatal(err)
		}
		for _, first := range []int{0, 1, 100} {
			f, err := v.Open("f" + e.Suffix())
			if err != nil {
				t.Fatal(err)
			}
			var msg bytes.Buffer
			if _, err := io.CopyN(&msg, readerOnly{f}, int64(first)); err != nil {
				t.Fatal(err)
			}
			n, err := f.(io.WriterTo).WriteTo(&msg)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if int64(first)+n != ent.Size || int64(msg.Len()) != ent.Size {
				t.Fatalf("armor=%v, %d bytes read first: WriteTo said %d, wrote %d in all, want %d", armor, first, n, msg.Len(), ent.Size)
			}
			if got := g.Run(msg.Bytes(), "--decrypt"); !bytes.Equal(got, want) {
				t.Fatalf("armor=%v, %d bytes read first: message does not decrypt to the file", armor, first)
			}
		}
	}
}

// TestWriteToFailingWriter: an error of the writer comes back as it is,
// and the stream stays failed.
func TestWriteToFailingWriter(t *testing.T) { testWriteToFailingWriter(t) }

func testWriteToFailingWriter(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("x@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	e, _ := NewEncryptor([]*Key{key}, false)
	f, err := e.View(inner).Open("f.gpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gone := errors.New("client gone")
	w := &failAfter{n: 300_000, err: gone}
	n, err := f.(io.WriterTo).WriteTo(w)
	if !errors.Is(err, gone) {
		t.Fatalf("WriteTo = %d, %v; want the writer's error", n, err)
	}
	if n != w.written {
		t.Errorf("WriteTo counted %d bytes, the writer took %d", n, w.written)
	}
	if _, err := f.Read(make([]byte, 10)); err == nil || err == io.EOF {
		t.Errorf("Read after a failed WriteTo = %v, want an error", err)
	}
}

// failAfter takes n bytes, then fails.
type failAfter struct {
	n, written int64
	err        error
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.written+int64(len(p)) > w.n {
		k := w.n - w.written
		w.written = w.n
		return int(k), w.err
	}
	w.written += int64(len(p))
	return len(p), nil
}

// readerOnly hides WriteTo, as a copy through a buffer would.
type readerOnly struct{ io.Reader }

// TestWriteToFileChangesSize: a file that shrinks after Open makes WriteTo
// fail rather than send a message of the wrong length; one that grows is
// sent as it was when opened.
func TestWriteToFileChangesSize(t *testing.T) { testWriteToFileChangesSize(t) }

func testWriteToFileChangesSize(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("s@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	e, _ := NewEncryptor([]*Key{key}, false)
	for _, size := range []int{streamChunk, 3*streamChunk + 1} {
		for _, delta := range []int{-1000, 1000} {
			name := filepath.Join(dir, "f")
			os.WriteFile(name, make([]byte, size), 0o644)
			f, err := e.View(inner).Open("f.gpg")
			if err != nil {
				t.Fatal(err)
			}
			grown := bytes.Repeat([]byte{7}, size+delta)
			os.WriteFile(name, grown, 0o644)
			var msg bytes.Buffer
			_, err = f.(io.WriterTo).WriteTo(&msg)
			f.Close()
			switch {
			case delta < 0 && err == nil:
				t.Errorf("file of %d bytes shrank by %d: WriteTo succeeded", size, -delta)
			case delta > 0 && err != nil:
				t.Errorf("file of %d bytes grew by %d: %v", size, delta, err)
			case delta > 0 && !bytes.Equal(g.Run(msg.Bytes(), "--decrypt"), grown[:size]):
				t.Errorf("file of %d bytes grew by %d: not sent as it was when opened", size, delta)
			}
		}
	}
}

// TestReadSizes reads encrypted files through Read alone (as a copy
// through a buffer does) with reads of many sizes, below and above the
// size from which the file is read straight into the caller's buffer.
func TestReadSizes(t *testing.T) { testReadSizes(t) }

func testReadSizes(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("r@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want := make([]byte, 2*streamChunk+777)
	for i := range want {
		want[i] = byte(i * 31)
	}
	os.WriteFile(filepath.Join(dir, "f"), want, 0o644)
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	for _, armor := range []bool{false, true} {
		e, _ := NewEncryptor([]*Key{key}, armor)
		v := e.View(inner)
		ent, err := v.Stat("f" + e.Suffix())
		if err != nil {
			t.Fatal(err)
		}
		for _, sizes := range [][]int{{64 << 10}, {minSealedRead - 1, minSealedRead, 1, 100_000}, {7, 50_000, 300_000}} {
			f, err := v.Open("f" + e.Suffix())
			if err != nil {
				t.Fatal(err)
			}
			var msg []byte
			for i := 0; ; i++ {
				p := make([]byte, sizes[i%len(sizes)])
				n, err := f.Read(p)
				msg = append(msg, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			f.Close()
			if int64(len(msg)) != ent.Size {
				t.Fatalf("armor=%v, reads of %v: %d bytes, Stat said %d", armor, sizes, len(msg), ent.Size)
			}
			if got := g.Run(msg, "--decrypt"); !bytes.Equal(got, want) {
				t.Fatalf("armor=%v, reads of %v: message does not decrypt to the file", armor, sizes)
			}
		}
	}
}

// TestPipeStutteringFile feeds the pipe from a file that returns short
// reads and empty ones (which io.Reader allows): every chunk still comes
// back to be read into, and the message decrypts.
func TestPipeStutteringFile(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("u@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := NewEncryptor([]*Key{key}, false)
	want := make([]byte, 5*streamChunk+99)
	for i := range want {
		want[i] = byte(i * 5)
	}
	s := &stream{f: &stutter{r: bytes.NewReader(want)}, name: "f", size: int64(len(want))}
	s.msg, err = e.EncryptTo(&s.out, "f", int64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	if _, err := s.WriteTo(&msg); err != nil {
		t.Fatal(err)
	}
	if int64(msg.Len()) != e.EncryptedSize("f", int64(len(want))) {
		t.Fatalf("%d bytes, want %d", msg.Len(), e.EncryptedSize("f", int64(len(want))))
	}
	if got := g.Run(msg.Bytes(), "--decrypt"); !bytes.Equal(got, want) {
		t.Fatal("message does not decrypt to the file")
	}
}

// stutter reads nothing every other call, and at most 1000 bytes.
type stutter struct {
	r     io.Reader
	calls int
}

func (s *stutter) Read(p []byte) (int, error) {
	if s.calls++; s.calls%2 == 0 {
		return 0, nil
	}
	return s.r.Read(p[:min(len(p), 1000)])
}

func (s *stutter) Close() error { return nil }
