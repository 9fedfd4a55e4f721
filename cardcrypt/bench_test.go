package cardcrypt

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"example.com/share/internal/cardtest"
	"example.com/share/sharefs"
)

// benchSize is the plaintext size of each benchmark operation.
const benchSize = 64 << 20

// BenchmarkEncrypt measures streaming encryption to one cv25519 key.
func BenchmarkEncrypt(b *testing.B) {
	for _, armor := range []bool{false, true} {
		name := "binary"
		if armor {
			name = "armor"
		}
		b.Run(name, func(b *testing.B) {
			g := cardtest.NewGnuPG(b, false)
			key, err := LoadRecipientFile(g.GenerateSoftware("bench@example.org", "ed25519", "cv25519"))
			if err != nil {
				b.Fatal(err)
			}
			e, err := NewEncryptor([]*Key{key}, armor)
			if err != nil {
				b.Fatal(err)
			}
			chunk := make([]byte, 256<<10)
			b.SetBytes(benchSize)
			b.ResetTimer()
			for range b.N {
				w, err := e.EncryptTo(io.Discard, "bench", benchSize)
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < benchSize; n += len(chunk) {
					w.Write(chunk)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGnuPGEncrypt measures gpg --encrypt of the same amount of data
// to the same kind of key, without compression, for comparison.
func BenchmarkGnuPGEncrypt(b *testing.B) {
	g := cardtest.NewGnuPG(b, false)
	g.GenerateSoftware("bench@example.org", "ed25519", "cv25519")
	plain := filepath.Join(b.TempDir(), "plain")
	f, err := os.Create(plain)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	for n := 0; n < benchSize; n += len(chunk) {
		f.Write(chunk)
	}
	f.Close()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		g.Run(nil, "--compress-algo", "none", "--cipher-algo", "AES256", "--yes", "-o", os.DevNull, "-r", "bench@example.org", "--encrypt", plain)
	}
}

// BenchmarkViewRead measures reading an encrypted file through the view,
// as a server does: plaintext from disk, encryption, the pipe.
func BenchmarkViewRead(b *testing.B) {
	g := cardtest.NewGnuPG(b, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("bench@example.org", "ed25519", "cv25519"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, benchSize), 0o644); err != nil {
		b.Fatal(err)
	}
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer inner.Close()
	e, _ := NewEncryptor([]*Key{key}, false)
	v := e.View(inner)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		f, err := v.Open("f.gpg")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
