package cardcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"example.com/share/sharefs"
)

// Labels of what is derived from the download secret.
const (
	streamLabel = "share encrypted download v1: randomness"
	idLabel     = "share encrypted download v1: identity"
)

// fileID names one encrypted message: a file version encrypted to the
// Encryptor's keys under its secret. It keys the checkpoints and makes
// the validator of the encrypted file.
type fileID [16]byte

// derivationInfo is what one file's message is made from besides the
// secret: the version of the file, its path and size, and the keys (a
// change of recipients makes new messages). Whatever changes the
// plaintext (the name in the literal packet too) must change it: one
// session key and prefix for two plaintexts would show their XOR.
func (e *Encryptor) derivationInfo(path string, plain sharefs.Entry) string {
	var info []byte
	field := func(b []byte) {
		info = binary.BigEndian.AppendUint32(info, uint32(len(b)))
		info = append(info, b...)
	}
	field([]byte(plain.Version.String()))
	parts, _ := sharefs.Split(path) // one spelling for every server
	field([]byte(strings.Join(parts, "/")))
	field([]byte(plain.Name))
	info = binary.BigEndian.AppendUint64(info, uint64(plain.Size))
	for _, k := range e.keys {
		field(k.Public.Fingerprint)
	}
	return string(info)
}

// fileID is the identity of the message of a file version.
func (e *Encryptor) fileID(path string, plain sharefs.Entry) (fileID, error) {
	var id fileID
	if plain.Version.IsZero() {
		return id, errors.New("the file's version is unknown")
	}
	b, err := hkdf.Key(sha256.New, e.secret, nil, idLabel+e.derivationInfo(path, plain), len(id))
	if err != nil {
		return id, fmt.Errorf("derive the message's identity: %w", err)
	}
	return fileID(b), nil
}

// randomness is the endless stream of bytes the random choices of the
// message of a file version are read from, in a fixed order: AES-256 in
// counter mode over zeros, keyed from the secret.
func (e *Encryptor) randomness(path string, plain sharefs.Entry) (io.Reader, error) {
	seed, err := hkdf.Key(sha256.New, e.secret, nil, streamLabel+e.derivationInfo(path, plain), 32)
	if err != nil {
		return nil, fmt.Errorf("derive the message's randomness: %w", err)
	}
	block, err := aes.NewCipher(seed)
	if err != nil {
		return nil, err
	}
	return keystream{cipher.NewCTR(block, make([]byte, aes.BlockSize))}, nil
}

type keystream struct{ s cipher.Stream }

func (k keystream) Read(p []byte) (int, error) {
	clear(p)
	k.s.XORKeyStream(p, p)
	return len(p), nil
}

// rsaSessionKeyPacket writes a version 3 session key packet for an RSA
// key: PKCS#1 v1.5 encryption (RFC 8017, 7.2.1) of the session key with
// the padding read from rnd. It is done here because crypto/rsa ignores
// the caller's randomness. A result shorter than the modulus is
// returned as errShortMPI, to be redone with new padding.
func rsaSessionKeyPacket(w io.Writer, pub *packet.PublicKey, key []byte, rnd io.Reader) error {
	rpub, ok := pub.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("not an RSA key")
	}
	block := []byte{byte(packet.CipherAES256)}
	block = append(block, key...)
	var sum uint16
	for _, b := range key {
		sum += uint16(b)
	}
	block = binary.BigEndian.AppendUint16(block, sum)
	k := (rpub.N.BitLen() + 7) / 8
	if len(block) > k-11 {
		return errors.New("RSA key too small for a session key")
	}
	em := make([]byte, k)
	em[1] = 2
	if err := nonZeroBytes(em[2:k-len(block)-1], rnd); err != nil {
		return err
	}
	copy(em[k-len(block):], block)
	m := new(big.Int).SetBytes(em)
	c := m.Exp(m, big.NewInt(int64(rpub.E)), rpub.N).Bytes()
	if len(c) < k {
		return errShortMPI
	}
	body := []byte{3}
	body = binary.BigEndian.AppendUint64(body, pub.KeyId)
	body = append(body, byte(pub.PubKeyAlgo))
	body = binary.BigEndian.AppendUint16(body, uint16(8*(len(c)-1)+bits.Len8(c[0])))
	body = append(body, c...)
	packetHead := append([]byte{0xC0 | 1}, lengthBytes(int64(len(body)))...)
	if _, err := w.Write(packetHead); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

var errShortMPI = errors.New("encrypted session key shorter than the modulus")

// nonZeroBytes fills p with bytes from rnd that are not zero.
func nonZeroBytes(p []byte, rnd io.Reader) error {
	var one [1]byte
	for i := range p {
		for one[0] == 0 {
			if _, err := io.ReadFull(rnd, one[:]); err != nil {
				return err
			}
		}
		p[i], one[0] = one[0], 0
	}
	return nil
}
