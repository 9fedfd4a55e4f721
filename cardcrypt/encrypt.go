package cardcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Sizes of the fixed parts of a SEIPD v1 message with AES-256.
const (
	sessionKeySize = 32
	cfbPrefixSize  = aes.BlockSize + 2 // random block plus its last two bytes
	mdcPacketSize  = 2 + sha1.Size     // D3 14 and the SHA-1
	literalHead    = 6                 // format, name length, 4-byte date
	maxNameLen     = 255
	maxKeyAttempts = 64
)

// Encryptor encrypts files to a fixed set of keys, one fresh session key
// per file: a public-key encrypted session key packet per key, then a
// SEIPD v1 packet (AES-256, MDC) holding an uncompressed literal packet.
// It is safe for concurrent use.
type Encryptor struct {
	keys      []*Key
	armor     bool
	pkeskSize []int64 // exact size of each key's session key packet
	secret    []byte  // what the View's messages derive from
	marks     *checkpoints
}

// NewEncryptor makes an Encryptor for the keys; a key given twice is used
// once (the later copy wins, so an exported key file is preferred over
// the same key rebuilt from the card). armor selects ASCII armor.
func NewEncryptor(keys []*Key, armor bool) (*Encryptor, error) {
	var uniq []*Key
	for _, k := range keys {
		i := slices.IndexFunc(uniq, func(u *Key) bool { return bytes.Equal(u.Public.Fingerprint, k.Public.Fingerprint) })
		if i >= 0 {
			uniq[i] = k
			continue
		}
		uniq = append(uniq, k)
	}
	if len(uniq) == 0 {
		return nil, errors.New("no key to encrypt to: use --encrypt with a card or --recipient FILE")
	}
	e := &Encryptor{keys: uniq, armor: armor, secret: make([]byte, secretSize), marks: newCheckpoints()}
	rand.Read(e.secret)
	for _, k := range uniq {
		n, err := sessionKeyPacketSize(k.Public)
		if err != nil {
			return nil, fmt.Errorf("key %s from %s: %w", k.Fingerprint(), k.Source, err)
		}
		e.pkeskSize = append(e.pkeskSize, n)
	}
	return e, nil
}

// UseSecret sets the secret the View's messages derive from (see
// LoadSecret); until then a secret of this process's own is used, so
// downloads resume only until it ends. Call it before serving.
func (e *Encryptor) UseSecret(secret []byte) { e.secret = secret }

// Keys returns the keys the Encryptor encrypts to.
func (e *Encryptor) Keys() []*Key { return slices.Clone(e.keys) }

// sessionKeyPacketSize is the size of a session key packet for pub. For
// RSA it is the full modulus length (a shorter result is redone); other
// algorithms give a fixed size, measured once.
func sessionKeyPacketSize(pub *packet.PublicKey) (int64, error) {
	if !pub.PubKeyAlgo.CanEncrypt() {
		return 0, fmt.Errorf("algorithm %d cannot encrypt", pub.PubKeyAlgo)
	}
	bitLen, err := pub.BitLength()
	if err != nil {
		return 0, err
	}
	switch pub.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		body := int64(1+8+1+2) + int64(bitLen+7)/8
		return 1 + lengthSize(body) + body, nil
	case packet.PubKeyAlgoECDH:
	default:
		return 0, fmt.Errorf("algorithm %d is not supported by GnuPG 2.2 for encryption", pub.PubKeyAlgo)
	}
	var buf bytes.Buffer
	key := make([]byte, sessionKeySize)
	if err := packet.SerializeEncryptedKey(&buf, pub, packet.CipherAES256, key, nil); err != nil {
		return 0, fmt.Errorf("encrypt a session key: %w", err)
	}
	return int64(buf.Len()), nil
}

// Suffix is the name suffix of encrypted files: ".gpg", or ".asc" with armor.
func (e *Encryptor) Suffix() string {
	if e.armor {
		return ".asc"
	}
	return ".gpg"
}

// literalName is the file name stored in the literal packet.
func literalName(name string) string {
	if len(name) > maxNameLen {
		return name[:maxNameLen]
	}
	return name
}

// EncryptedSize is the exact size of the message EncryptTo writes for a
// file of size bytes, or -1 when size is -1.
func (e *Encryptor) EncryptedSize(name string, size int64) int64 {
	if size < 0 {
		return -1
	}
	n := e.binarySize(name, size)
	if e.armor {
		return armoredSize(n)
	}
	return n
}

func (e *Encryptor) binarySize(name string, size int64) int64 {
	var n int64
	for _, s := range e.pkeskSize {
		n += s
	}
	return n + packetSize(seipdBodySize(name, size))
}

func literalBodySize(name string, size int64) int64 {
	return literalHead + int64(len(literalName(name))) + size
}

func seipdBodySize(name string, size int64) int64 {
	return 1 + cfbPrefixSize + packetSize(literalBodySize(name, size)) + mdcPacketSize
}

// EncryptTo starts a message to w for a file called name of size bytes
// (-1 when unknown: the packets then use partial lengths). Write the
// file's bytes to the result, then Close it to finish the message; Close
// fails if the byte count differs from size.
func (e *Encryptor) EncryptTo(w io.Writer, name string, size int64) (io.WriteCloser, error) {
	m, err := e.encrypt(w, name, size, rand.Reader)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// encrypt starts a message whose random choices are read from rnd, in a
// fixed order: the session key, the CFB prefix, then what each session
// key packet needs.
func (e *Encryptor) encrypt(w io.Writer, name string, size int64, rnd io.Reader) (*message, error) {
	m := &message{}
	if e.armor {
		aw, err := newArmorWriter(w)
		if err != nil {
			return nil, err
		}
		m.armor, w = aw, aw
	}
	key := make([]byte, sessionKeySize)
	prefix := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, fmt.Errorf("make a session key: %w", err)
	}
	if _, err := io.ReadFull(rnd, prefix); err != nil {
		return nil, fmt.Errorf("make a session key: %w", err)
	}
	if err := e.writeSessionKeys(w, key, rnd); err != nil {
		return nil, err
	}
	if err := m.start(w, key, prefix, name, size); err != nil {
		return nil, err
	}
	return m, nil
}

// writeSessionKeys writes one session key packet per key, each of the
// size EncryptedSize counted on.
func (e *Encryptor) writeSessionKeys(w io.Writer, key []byte, rnd io.Reader) error {
	var buf bytes.Buffer
	config := &packet.Config{Rand: rnd}
	for i, k := range e.keys {
		for attempt := 0; ; attempt++ {
			if attempt == maxKeyAttempts {
				return fmt.Errorf("session key packet for %s keeps coming out %d bytes, not %d", k.Fingerprint(), buf.Len(), e.pkeskSize[i])
			}
			buf.Reset()
			var err error
			switch k.Public.PubKeyAlgo {
			case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
				err = rsaSessionKeyPacket(&buf, k.Public, key, rnd)
				if errors.Is(err, errShortMPI) {
					continue
				}
			default:
				err = packet.SerializeEncryptedKey(&buf, k.Public, packet.CipherAES256, key, config)
			}
			if err != nil {
				return fmt.Errorf("encrypt the session key to %s: %w", k.Fingerprint(), err)
			}
			if int64(buf.Len()) == e.pkeskSize[i] {
				break
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// message is one SEIPD v1 packet with its literal packet inside.
type message struct {
	seipd   *bodyWriter
	enc     *cfbWriter
	literal *bodyWriter
	armor   *armorWriter
}

func (m *message) start(w io.Writer, key, prefix []byte, name string, size int64) error {
	seipdSize, litSize := int64(-1), int64(-1)
	if size >= 0 {
		seipdSize, litSize = seipdBodySize(name, size), literalBodySize(name, size)
	}
	var err error
	if m.seipd, err = newBodyWriter(w, 18, seipdSize); err != nil {
		return err
	}
	if _, err := m.seipd.Write([]byte{0x01}); err != nil {
		return err
	}
	if m.enc, err = newCFBWriter(m.seipd, key, prefix); err != nil {
		return err
	}
	if m.literal, err = newBodyWriter(m.enc, 11, litSize); err != nil {
		return err
	}
	lit := literalName(name)
	head := append([]byte{'b', byte(len(lit))}, lit...)
	_, err = m.literal.Write(append(head, 0, 0, 0, 0))
	return err
}

func (m *message) Write(p []byte) (int, error) { return m.literal.Write(p) }

// canSealInPlace reports whether sealInPlace may be used: a binary message
// of known size, whose ciphertext is exactly as long as its plaintext.
func (m *message) canSealInPlace() bool {
	return m.armor == nil && !m.literal.partial && !m.seipd.partial
}

// sealInPlace encrypts p in place as the next bytes of the file, for a
// caller that then writes p itself, in order, where the message's writer
// would have: it saves the copies between file, cipher and connection.
// Only where canSealInPlace. With hashed, p has been through hashPlain.
func (m *message) sealInPlace(p []byte, hashed bool) error {
	if int64(len(p)) > m.literal.remaining {
		return errTooLong
	}
	m.literal.remaining -= int64(len(p))
	m.seipd.remaining -= int64(len(p))
	if hashed {
		m.enc.xor(p, p)
	} else {
		m.enc.sealInPlace(p)
	}
	return nil
}

// hashesInLoop reports whether the CFB loop hashes the plaintext as it
// encrypts (the CPU has SHA instructions). Where it does not, hashPlain
// lets another goroutine hash each piece before sealInPlace(p, true).
func (m *message) hashesInLoop() bool { return m.enc.sha != nil }

// mdcState is the MDC hash's state, for a checkpoint, or nil.
func (m *message) mdcState() []byte {
	b, err := m.enc.mdc.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

// hashPlain hashes p for the MDC; see hashesInLoop.
func (m *message) hashPlain(p []byte) { m.enc.mdc.Write(p) }

// Close ends the literal packet, appends the MDC and ends the armor.
func (m *message) Close() error {
	if err := m.literal.Close(); err != nil {
		return fmt.Errorf("file changed size while encrypting: %w", err)
	}
	if err := m.enc.writeMDC(); err != nil {
		return err
	}
	if err := m.seipd.Close(); err != nil {
		return err
	}
	if m.armor != nil {
		return m.armor.Close()
	}
	return nil
}

// cfbWriter encrypts a SEIPD v1 body: CFB mode from an all-zero IV over
// a random block, its last two bytes again, then the plaintext (RFC 4880,
// 5.13), and hashes the same plaintext for the modification detection
// code. Encryption and hashing of large writes run on two cores.
type cfbWriter struct {
	w    io.Writer
	aes  *cfbCipher
	reg  [aes.BlockSize]byte // E(last ciphertext block), overwritten by the next ciphertext as it is made
	used int                 // bytes of reg already turned into ciphertext
	mdc  interface {
		io.Writer
		Sum([]byte) []byte
	}
	sha *sha1State // where the CPU can, the hash done in the CFB loop (then mdc is sha)
	off int64      // bytes encrypted, with sha: where the 64-byte blocks begin
	buf []byte     // ciphertext of small writes on its way to w; larger go through a borrowed chunk
}

// parallelHash is the write size from which hashing runs concurrently.
const parallelHash = 16 << 10

// maxWrite is the most ciphertext a cfbWriter hands to its writer at once:
// large enough that system calls and per-call costs vanish next to the
// encryption, small enough for many downloads at once.
const maxWrite = 128 << 10

// newCFBWriter starts the body with the 16 bytes of prefix.
func newCFBWriter(w io.Writer, key, prefix []byte) (*cfbWriter, error) {
	ci, err := newCFBCipher(key)
	if err != nil {
		return nil, err
	}
	c := &cfbWriter{w: w, aes: ci, used: aes.BlockSize}
	if useStitched && ci.xk != nil {
		c.sha = newSHA1State()
		c.mdc = c.sha
	} else {
		c.mdc = sha1.New()
	}
	head := make([]byte, cfbPrefixSize)
	copy(head, prefix)
	copy(head[aes.BlockSize:], prefix[aes.BlockSize-2:aes.BlockSize])
	if _, err := c.Write(head); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cfbWriter) Write(p []byte) (int, error) {
	if c.sha != nil {
		return c.encrypt(p, true)
	}
	if len(p) < parallelHash {
		c.mdc.Write(p)
		return c.encrypt(p, false)
	}
	// SHA-1 is about twice as fast as the (serial) CFB encryption, so the
	// hash is always done first; the wait below is only a join.
	done := make(chan struct{})
	go func() {
		c.mdc.Write(p)
		close(done)
	}()
	n, err := c.encrypt(p, false)
	<-done
	return n, err
}

// encrypt writes the CFB encryption of p, hashing p too with hash (which
// needs sha).
func (c *cfbWriter) encrypt(p []byte, hash bool) (int, error) {
	buf := c.buf
	if len(p) > smallWrite {
		buf = getChunk() // borrowed only while this write lasts (streammem.go)
		defer putChunk(buf)
	} else if buf == nil {
		c.buf = make([]byte, smallWrite)
		buf = c.buf
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), len(buf))
		if hash {
			c.xorHash(buf[:n], p[:n])
		} else {
			c.xor(buf[:n], p[:n])
		}
		if _, err := c.w.Write(buf[:n]); err != nil {
			return written, err
		}
		p = p[n:]
		written += n
	}
	return written, nil
}

// xor encrypts src into dst, carrying partial blocks across calls.
func (c *cfbWriter) xor(dst, src []byte) {
	// The rest of a block begun by an earlier call.
	for c.used < aes.BlockSize && len(src) > 0 {
		c.reg[c.used] ^= src[0]
		dst[0] = c.reg[c.used]
		c.used++
		dst, src = dst[1:], src[1:]
	}
	// Whole blocks: the fast path.
	if n := len(src) &^ (aes.BlockSize - 1); n > 0 {
		c.aes.encryptBlocks(&c.reg, dst[:n], src[:n])
		dst, src = dst[n:], src[n:]
	}
	// The start of a block the next call finishes.
	if len(src) > 0 {
		c.aes.encrypt(&c.reg)
		c.used = subtle.XORBytes(dst, src, c.reg[:])
		copy(c.reg[:], dst[:c.used])
	}
}

// sealInPlace hashes and encrypts p in place; the caller writes it.
func (c *cfbWriter) sealInPlace(p []byte) {
	if c.sha != nil {
		c.xorHash(p, p)
		return
	}
	c.mdc.Write(p) // before the plaintext is gone
	c.xor(p, p)
}

// xorHash is xor that also hashes src into sha. Whole 64-byte blocks of
// the stream are blocks of both SHA-1 and AES, and go through the
// stitched loop; bytes before and after them through the portable paths.
func (c *cfbWriter) xorHash(dst, src []byte) {
	if k := min(len(src), int(-c.off&63)); k > 0 {
		c.sha.Write(src[:k])
		c.xor(dst[:k], src[:k])
		c.off += int64(k)
		dst, src = dst[k:], src[k:]
	}
	if n := len(src) &^ 63; n > 0 {
		// Here off is a multiple of 64: the hash has no partial block and
		// the CFB register is used up.
		_ = dst[n-1] // the loop writes n bytes: a short dst panics here, never past its end
		cfbSHA1AESNI(c.aes.xk, &c.reg, &c.sha.h, &dst[0], &src[0], n/64)
		c.sha.len += uint64(n)
		c.off += int64(n)
		dst, src = dst[n:], src[n:]
	}
	if len(src) > 0 {
		c.sha.Write(src)
		c.xor(dst, src)
		c.off += int64(len(src))
	}
}

// writeMDC appends the modification detection code packet: its header is
// hashed, then the hash itself is written.
func (c *cfbWriter) writeMDC() error {
	head := []byte{0xD3, sha1.Size}
	if c.sha != nil {
		if _, err := c.encrypt(head, true); err != nil {
			return err
		}
	} else {
		c.mdc.Write(head)
		if _, err := c.encrypt(head, false); err != nil {
			return err
		}
	}
	_, err := c.encrypt(c.mdc.Sum(nil), false)
	return err
}
