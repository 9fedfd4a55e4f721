package cardcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	mrand "math/rand/v2"
	"testing"
)

// TestCFBLoopsMatchStandardCFB runs both block loops (the assembly one
// where the CPU has it, and the portable one) against crypto/cipher's CFB
// for random keys, feedback blocks and lengths.
func TestCFBLoopsMatchStandardCFB(t *testing.T) {
	if !useAESNI {
		t.Log("no AES instructions: only the portable loop is tested")
	}
	for i := range 200 {
		key := make([]byte, 32)
		rand.Read(key)
		fast, err := newCFBCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		portable := &cfbCipher{block: fast.block}
		var iv [aes.BlockSize]byte
		rand.Read(iv[:])
		src := make([]byte, aes.BlockSize*mrand.IntN(300))
		if i == 0 {
			src = make([]byte, aes.BlockSize) // E(iv) alone
		}
		rand.Read(src)
		want := make([]byte, len(src))
		cipher.NewCFBEncrypter(fast.block, iv[:]).XORKeyStream(want, src)
		for _, ci := range []*cfbCipher{fast, portable} {
			reg := iv
			got := make([]byte, len(src))
			ci.encryptBlocks(&reg, got, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("key %x iv %x, %d bytes, assembly %v: ciphertext differs from crypto/cipher", key, iv, len(src), ci.xk != nil)
			}
			if len(src) > 0 && !bytes.Equal(reg[:], want[len(want)-aes.BlockSize:]) {
				t.Fatalf("assembly %v: feedback is not the last ciphertext block", ci.xk != nil)
			}
		}
	}
}

// TestCFBInPlace checks that dst may be src: the stream encrypts its own
// buffers where it can.
func TestCFBInPlace(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	ci, _ := newCFBCipher(key)
	src := make([]byte, 4096)
	rand.Read(src)
	want := make([]byte, len(src))
	cipher.NewCFBEncrypter(ci.block, make([]byte, aes.BlockSize)).XORKeyStream(want, src)
	var reg [aes.BlockSize]byte
	ci.encryptBlocks(&reg, src, src)
	if !bytes.Equal(src, want) {
		t.Fatal("in-place encryption differs from crypto/cipher")
	}
}

func TestSbox(t *testing.T) {
	s := sboxTable()
	// FIPS 197, figure 7.
	for x, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7C, 0x53: 0xED, 0xFF: 0x16, 0x10: 0xCA} {
		if s[x] != want {
			t.Errorf("S-box(%#02x) = %#02x, want %#02x", x, s[x], want)
		}
	}
}

// BenchmarkCFBLoop measures the block loops alone, without hashing or
// writing: the bound of a single stream's speed.
func BenchmarkCFBLoop(b *testing.B) {
	key := make([]byte, 32)
	fast, _ := newCFBCipher(key)
	loops := map[string]*cfbCipher{"portable": {block: fast.block}}
	if fast.xk != nil {
		loops["aesni"] = fast
	}
	buf := make([]byte, 128<<10)
	for name, ci := range loops {
		b.Run(name, func(b *testing.B) {
			var reg [aes.BlockSize]byte
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				ci.encryptBlocks(&reg, buf, buf)
			}
		})
	}
}

// TestSHA1State compares the SHA-1 of the stitched path's bookkeeping
// (the portable compression function, padding) with crypto/sha1 over
// lengths around the block and padding boundaries, in pieces.
func TestSHA1State(t *testing.T) {
	data := make([]byte, 1000)
	rand.Read(data)
	for n := range len(data) {
		if n > 200 && n%61 != 0 {
			continue
		}
		s := newSHA1State()
		for p := data[:n]; len(p) > 0; {
			k := min(len(p), 1+mrand.IntN(100))
			s.Write(p[:k])
			p = p[k:]
		}
		want := sha1.Sum(data[:n])
		if got := s.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("%d bytes: SHA-1 %x, want %x", n, got, want)
		}
	}
}

// TestCFBWriterHashes checks both the ciphertext and the MDC hash of the
// CFB writer against crypto/cipher and crypto/sha1, over writes of random
// sizes that put the 64-byte blocks at every offset: the stitched loop
// where the CPU has it, else the portable paths.
func TestCFBWriterHashes(t *testing.T) {
	if !useStitched {
		t.Log("no SHA instructions: the portable paths are tested")
	}
	for range 20 {
		key := make([]byte, 32)
		rand.Read(key)
		var out bytes.Buffer
		c, err := newCFBWriter(&out, key, key[:16])
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, mrand.IntN(600_000))
		rand.Read(plain)
		for p := plain; len(p) > 0; {
			k := min(len(p), mrand.IntN(200_000)+1)
			if mrand.IntN(3) == 0 {
				k = min(len(p), mrand.IntN(70)+1)
			}
			c.Write(p[:k])
			p = p[k:]
		}
		block, _ := aes.NewCipher(key)
		got := make([]byte, out.Len())
		cipher.NewCFBDecrypter(block, make([]byte, aes.BlockSize)).XORKeyStream(got, out.Bytes())
		if !bytes.Equal(got[cfbPrefixSize:], plain) {
			t.Fatalf("%d bytes: ciphertext does not decrypt with crypto/cipher", len(plain))
		}
		want := sha1.Sum(got)
		if sum := c.mdc.Sum(nil); !bytes.Equal(sum, want[:]) {
			t.Fatalf("%d bytes: MDC hash %x, want %x", len(plain), sum, want)
		}
	}
}

// BenchmarkCFBSHA1Loop measures the stitched loop: encryption and the
// MDC hash of the same bytes.
func BenchmarkCFBSHA1Loop(b *testing.B) {
	if !useStitched {
		b.Skip("no SHA instructions")
	}
	key := make([]byte, 32)
	ci, _ := newCFBCipher(key)
	s := newSHA1State()
	src := make([]byte, 128<<10)
	dst := make([]byte, len(src))
	var reg [aes.BlockSize]byte
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		cfbSHA1AESNI(ci.xk, &reg, &s.h, &dst[0], &src[0], len(src)/64)
	}
}
