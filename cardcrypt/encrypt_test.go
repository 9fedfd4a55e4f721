package cardcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"testing"

	"example.com/share/internal/cardtest"
)

func TestGnuPGDecryptsWhatWeEncrypt(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	keys := map[string]string{
		"rsa2048": g.GenerateSoftware("rsa@example.org", "rsa2048", "rsa2048"),
		"cv25519": g.GenerateSoftware("ecc@example.org", "ed25519", "cv25519"),
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
func roundTrip(t *testing.T, g *cardtest.GnuPG, e *Encryptor, name string, size, announced int64) {
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
	if got := g.Run(out.Bytes(), "--decrypt"); !bytes.Equal(got, plain) {
		t.Fatalf("gpg gave back %d bytes, want the %d written", len(got), len(plain))
	}
}

func TestPartialLengthsKeepTheSizeExact(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("p@example.org", "rsa2048", "rsa2048"))
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
	alice, bob := cardtest.NewGnuPG(t, false), cardtest.NewGnuPG(t, false)
	var keys []*Key
	for _, k := range []string{
		alice.GenerateSoftware("alice@example.org", "rsa2048", "rsa3072"),
		bob.GenerateSoftware("bob@example.org", "ed25519", "cv25519"),
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
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("m@example.org", "ed25519", "cv25519"))
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
	c, err := newCFBWriter(&out, key, key[:16])
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

// TestPacketSizes writes bodies around each length-encoding boundary and
// compares with packetSize, in definite and partial form.
func TestPacketSizes(t *testing.T) {
	sizes := []int64{0, 1, 191, 192, 193, 8383, 8384, 8385, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize}
	for _, partial := range []bool{false, true} {
		old := maxDefinite
		if partial {
			maxDefinite = -1
		}
		for _, n := range sizes {
			var out bytes.Buffer
			bw, err := newBodyWriter(&out, 11, n)
			if err != nil {
				t.Fatal(err)
			}
			for left := n; left > 0; {
				k := min(left, 5000)
				bw.Write(make([]byte, k))
				left -= k
			}
			if err := bw.Close(); err != nil {
				t.Fatal(err)
			}
			if int64(out.Len()) != packetSize(n) {
				t.Errorf("partial=%v body %d: wrote %d bytes, packetSize says %d", partial, n, out.Len(), packetSize(n))
			}
		}
		maxDefinite = old
	}
}

// TestRSASessionKeyPacketsAlwaysFullLength: about one RSA encryption in
// 256 comes out a byte short; the packets must still be of the size
// EncryptedSize counted on.
func TestRSASessionKeyPacketsAlwaysFullLength(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key, err := LoadRecipientFile(g.GenerateSoftware("r@example.org", "rsa2048", "rsa2048"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEncryptor([]*Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	sk := make([]byte, sessionKeySize)
	for range 1500 {
		rand.Read(sk)
		var out bytes.Buffer
		if err := e.writeSessionKeys(&out, sk, rand.Reader); err != nil {
			t.Fatal(err)
		}
		if int64(out.Len()) != e.pkeskSize[0] {
			t.Fatalf("session key packet of %d bytes, want %d", out.Len(), e.pkeskSize[0])
		}
	}
}

// TestCRC24 checks the table-driven CRC against the bitwise definition of
// RFC 4880, 6.1, on lengths that exercise the 4-byte steps and the tail.
func TestCRC24(t *testing.T) {
	bitwise := func(p []byte) uint32 {
		crc := uint32(crc24Init)
		for _, b := range p {
			crc ^= uint32(b) << 16
			for range 8 {
				crc <<= 1
				if crc&0x1000000 != 0 {
					crc ^= crc24Poly
				}
			}
		}
		return crc & 0xFFFFFF
	}
	data := make([]byte, 1003)
	rand.Read(data)
	for _, n := range []int{0, 1, 3, 4, 5, 8, 1000, 1003} {
		if got, want := crc24Update(crc24Init, data[:n]), bitwise(data[:n]); got != want {
			t.Errorf("CRC-24 of %d bytes: %06X, want %06X", n, got, want)
		}
	}
	split := crc24Update(crc24Update(crc24Init, data[:7]), data[7:])
	if split != bitwise(data) {
		t.Error("CRC-24 differs when fed in two pieces")
	}
}
