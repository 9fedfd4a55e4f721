package cardcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"testing"
)

func TestGnuPGDecryptsWhatWeEncrypt(t *testing.T) {
	g := newGnuPG(t)
	keys := map[string]string{
		"rsa2048": g.generate("rsa@example.org", "rsa2048", "rsa2048"),
		"cv25519": g.generate("ecc@example.org", "ed25519", "cv25519"),
	}
	sizes := []int64{0, 1, 191, 8000, 100_000, 3*chunkSize + 5}
	for algo, path := range keys {
		key, err := LoadRecipientFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, armor := range []bool{false, true} {
			e, err := NewEncryptor([]*Key{key}, armor)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/armor=%v/%d", algo, armor, size), func(t *testing.T) {
					roundTrip(t, g, e, "file name.bin", size, size)
				})
			}
			t.Run(fmt.Sprintf("%s/armor=%v/unknown-size", algo, armor), func(t *testing.T) {
				roundTrip(t, g, e, "stream", 200_000, -1)
			})
		}
	}
}

// roundTrip encrypts size random bytes, announcing announced, checks the
// predicted size and that GnuPG gives the bytes back.
func roundTrip(t *testing.T, g *gnupg, e *Encryptor, name string, size, announced int64) {
	t.Helper()
	plain := make([]byte, size)
	rand.Read(plain)
	var out bytes.Buffer
	w, err := e.EncryptTo(&out, name, announced)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := e.EncryptedSize(name, announced); int64(out.Len()) != want && announced >= 0 {
		t.Fatalf("encrypted %d bytes, predicted %d", out.Len(), want)
	}
	if got := g.decrypt(out.Bytes()); !bytes.Equal(got, plain) {
		t.Fatalf("gpg gave back %d bytes, want the %d written", len(got), len(plain))
	}
}

func TestPartialLengthsKeepTheSizeExact(t *testing.T) {
	g := newGnuPG(t)
	key, err := LoadRecipientFile(g.generate("p@example.org", "rsa2048", "rsa2048"))
	if err != nil {
		t.Fatal(err)
	}
	old := maxDefinite
	maxDefinite = 1000 // as if the file were over 4 GiB
	t.Cleanup(func() { maxDefinite = old })
	for _, armor := range []bool{false, true} {
		e, err := NewEncryptor([]*Key{key}, armor)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int64{1001, chunkSize, chunkSize + 1, 2 * chunkSize, 2*chunkSize + 300} {
			t.Run(fmt.Sprintf("armor=%v/%d", armor, size), func(t *testing.T) {
				roundTrip(t, g, e, "big", size, size)
			})
		}
	}
}

func TestEveryRecipientDecryptsAlone(t *testing.T) {
	alice, bob := newGnuPG(t), newGnuPG(t)
	var keys []*Key
	for _, k := range []string{
		alice.generate("alice@example.org", "rsa2048", "rsa3072"),
		bob.generate("bob@example.org", "ed25519", "cv25519"),
	} {
		key, err := LoadRecipientFile(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key, key) // twice: used once
	}
	e, err := NewEncryptor(keys, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Keys()) != 2 {
		t.Fatalf("%d keys after removing duplicates, want 2", len(e.Keys()))
	}
	roundTrip(t, alice, e, "both", 5000, 5000)
	roundTrip(t, bob, e, "both", 5000, 5000)
}

func TestSizeMismatchFailsClose(t *testing.T) {
	g := newGnuPG(t)
	key, err := LoadRecipientFile(g.generate("m@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncryptor([]*Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := e.EncryptTo(&out, "short", 10)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("12345"))
	if err := w.Close(); err == nil {
		t.Fatal("Close accepted 5 bytes for a 10-byte file")
	}
	w, _ = e.EncryptTo(&out, "long", 3)
	if _, err := w.Write([]byte("12345")); err == nil {
		t.Fatal("Write accepted 5 bytes for a 3-byte file")
	}
}

// TestCFBMatchesStandardCFB checks the CFB writer against the standard
// library's CFB (zero IV, as SEIPD v1 uses it) over writes of odd sizes.
func TestCFBMatchesStandardCFB(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	var out bytes.Buffer
	c, err := newCFBWriter(&out, key)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 100_000)
	rand.Read(plain)
	for p, step := plain, 1; len(p) > 0; step = step*7%40_000 + 1 {
		n := min(step, len(p))
		c.Write(p[:n])
		p = p[n:]
	}
	block, _ := aes.NewCipher(key)
	dec := cipher.NewCFBDecrypter(block, make([]byte, aes.BlockSize))
	got := make([]byte, out.Len())
	dec.XORKeyStream(got, out.Bytes())
	prefix := got[:cfbPrefixSize]
	if !bytes.Equal(prefix[14:16], prefix[16:18]) {
		t.Fatal("prefix does not repeat its last two bytes")
	}
	if !bytes.Equal(got[cfbPrefixSize:], plain) {
		t.Fatal("standard CFB does not decrypt what the writer encrypted")
	}
}
