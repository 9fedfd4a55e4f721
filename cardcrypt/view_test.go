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

	"example.com/share/sharefs"
)

func TestViewServesOnlyEncryptedFiles(t *testing.T) {
	g := newGnuPG(t)
	key, err := LoadRecipientFile(g.generate("v@example.org", "ed25519", "cv25519"))
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
			if _, ok := f.(io.Seeker); ok {
				t.Error("encrypted file is an io.Seeker")
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
			if got := g.decrypt(msg); string(got) != string(want) {
				t.Errorf("%s: decrypted %d bytes differ from the %d of the file", name, len(got), len(want))
			}
		}
	}
}

func TestClosingAnEncryptedStreamEarly(t *testing.T) {
	g := newGnuPG(t)
	key, err := LoadRecipientFile(g.generate("c@example.org", "ed25519", "cv25519"))
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
// goroutines at once; every message is different and decrypts.
func TestConcurrentDownloads(t *testing.T) {
	g := newGnuPG(t)
	key, err := LoadRecipientFile(g.generate("p@example.org", "ed25519", "cv25519"))
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
		if i > 0 && bytes.Equal(msgs[i], msgs[0]) {
			t.Error("two downloads gave the same message: session keys repeat")
		}
		if got := g.decrypt(msgs[i]); !bytes.Equal(got, want) {
			t.Errorf("download %d does not decrypt to the file", i)
		}
	}
}
