package cardcrypt

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"example.com/share/sharefs"
)

// testKey makes a public key in process (no GnuPG): x25519 or RSA.
func testKey(t *testing.T, rsa bool) *Key {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	if rsa {
		cfg = &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048}
	}
	ent, err := openpgp.NewEntity("t", "", "t@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := ent.EncryptionKey(time.Now())
	if !ok {
		t.Fatal("no encryption key")
	}
	return &Key{Public: k.PublicKey}
}

// seekFixture is a folder with one file of size random bytes, its view
// through an Encryptor with secret, and the whole message read once.
type seekFixture struct {
	v     sharefs.View
	e     *Encryptor
	whole []byte
	dir   string
}

func newSeekFixture(t *testing.T, keys []*Key, armor bool, size int, secret []byte) *seekFixture {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*131 + i>>9)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	e, err := NewEncryptor(keys, armor)
	if err != nil {
		t.Fatal(err)
	}
	e.UseSecret(secret)
	fx := &seekFixture{v: e.View(inner), e: e, dir: dir}
	fx.whole = fx.read(t, 0, -1)
	return fx
}

// plain is the entry of the plain file.
func (fx *seekFixture) plain(t *testing.T) sharefs.Entry {
	t.Helper()
	ent, err := fx.v.(*view).inner.Stat("f")
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// read opens the file, seeks to off and reads n bytes (-1: to the end).
func (fx *seekFixture) read(t *testing.T, off, n int64) []byte {
	t.Helper()
	f, err := fx.v.Open("f" + fx.e.Suffix())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.(io.Seeker).Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var r io.Reader = f
	if n >= 0 {
		r = io.LimitReader(f, n)
	}
	var out bytes.Buffer
	if _, err := io.Copy(&out, r); err != nil { // WriteTo when n < 0
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSeekMatchesTheWholeMessage reads ranges at random offsets, with
// Read and WriteTo, and compares them with one whole read: binary and
// armored, with definite and partial lengths, with and without the SHA
// instructions.
func TestSeekMatchesTheWholeMessage(t *testing.T) {
	oldEvery, oldDef, oldStitched, oldSkip := minMarkEvery, maxDefinite, useStitched, pipeSkip
	t.Cleanup(func() { minMarkEvery, maxDefinite, useStitched, pipeSkip = oldEvery, oldDef, oldStitched, oldSkip })
	minMarkEvery = markAlignment
	secret := bytes.Repeat([]byte{7}, secretSize)
	keys := []*Key{testKey(t, false), testKey(t, true)}
	cases := []struct {
		name                         string
		armor, partial, hw, fastSkip bool
	}{
		{"binary", false, false, true, false},
		{"binary, skips piped", false, false, true, true},
		{"armor", true, false, true, true},
		{"partial", false, true, true, true},
		{"partial armor", true, true, true, false},
		{"no SHA instructions", false, false, false, false},
		{"no SHA instructions, skips piped", false, false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			maxDefinite = oldDef
			if c.partial {
				maxDefinite = 100_000
			}
			useStitched = oldStitched && c.hw
			pipeSkip = oldSkip
			if c.fastSkip {
				pipeSkip = 4096
			}
			fx := newSeekFixture(t, keys, c.armor, 1<<20+12345, secret)
			ent, err := fx.v.Stat("f" + fx.e.Suffix())
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(fx.whole)) != ent.Size {
				t.Fatalf("whole message %d bytes, Stat says %d", len(fx.whole), ent.Size)
			}
			id, _ := fx.e.fileID("f", fx.plain(t))
			if n := len(fx.e.marks.file(id).marks); n < 10 {
				t.Fatalf("%d checkpoints after one whole read, want one each %d bytes", n, minMarkEvery)
			}
			if again := fx.read(t, 0, -1); !bytes.Equal(again, fx.whole) {
				t.Fatal("two reads of one version differ")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 30 {
				off := rng.Int64N(int64(len(fx.whole)))
				n := rng.Int64N(200_000)
				if rng.IntN(3) == 0 {
					n = -1
				}
				got := fx.read(t, off, n)
				want := fx.whole[off:]
				if n >= 0 {
					want = want[:min(n, int64(len(want)))]
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("range %d+%d differs from the whole message", off, n)
				}
			}
		})
	}
}

// TestSameSecretSameMessage: a new Encryptor with the same secret and
// keys (a restart) makes the same bytes; another secret, other keys or a
// changed file make other bytes and another validator.
func TestSameSecretSameMessage(t *testing.T) {
	k1, k2 := testKey(t, false), testKey(t, true)
	secret := bytes.Repeat([]byte{1}, secretSize)
	a := newSeekFixture(t, []*Key{k1, k2}, false, 5000, secret)
	restarted, err := NewEncryptor([]*Key{k1, k2}, false)
	if err != nil {
		t.Fatal(err)
	}
	restarted.UseSecret(secret)
	inner, err := sharefs.New(a.dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	b := &seekFixture{v: restarted.View(inner), e: restarted}
	if !bytes.Equal(b.read(t, 0, -1), a.whole) {
		t.Error("the same secret and keys gave another message")
	}
	other := newSeekFixture(t, []*Key{k1, k2}, false, 5000, bytes.Repeat([]byte{2}, secretSize))
	if bytes.Equal(other.whole, a.whole) {
		t.Error("another secret gave the same message")
	}
	fewer := newSeekFixture(t, []*Key{k1}, false, 5000, secret)
	if bytes.Equal(fewer.whole[len(fewer.whole)-100:], a.whole[len(a.whole)-100:]) {
		t.Error("other recipients gave the same session key")
	}
	tag := func(fx *seekFixture) sharefs.Entry {
		ent, err := fx.v.Stat("f.gpg")
		if err != nil {
			t.Fatal(err)
		}
		return ent
	}
	before := tag(a)
	if before == tag(fewer) {
		t.Error("other recipients, same identity")
	}
	os.WriteFile(filepath.Join(a.dir, "f"), []byte("changed"), 0o644)
	if before == tag(a) {
		t.Error("a changed file kept its identity")
	}
}

// TestConcurrentRanges reads ranges of one file from several goroutines
// at once, on an Encryptor that has no checkpoints yet, so catch-ups and
// checkpoints race; every range is the bytes of the whole message.
func TestConcurrentRanges(t *testing.T) {
	old := minMarkEvery
	t.Cleanup(func() { minMarkEvery = old })
	minMarkEvery = markAlignment
	secret := bytes.Repeat([]byte{3}, secretSize)
	key := testKey(t, false)
	fx := newSeekFixture(t, []*Key{key}, false, 3<<20, secret)
	fresh := newSeekFixture(t, []*Key{key}, false, 0, secret) // for its Encryptor
	inner, err := sharefs.New(fx.dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	cold := &seekFixture{v: fresh.e.View(inner), e: fresh.e}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 5 {
				off := rng.Int64N(int64(len(fx.whole)))
				n := rng.Int64N(100_000)
				got := cold.read(t, off, n)
				if !bytes.Equal(got, fx.whole[off:min(off+n, int64(len(fx.whole)))]) {
					errs <- fmt.Sprintf("range %d+%d differs", off, n)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
