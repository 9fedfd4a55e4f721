package cardcrypt

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// Signature types of RFC 4880, 5.2.1.
const (
	sigBinary        = 0x00
	sigPositiveCert  = 0x13
	sigSubkeyBinding = 0x18
)

// Signature subpacket types of RFC 4880, 5.2.3.1, and RFC 9580.
const (
	subCreated       = 2
	subPrefSymmetric = 11
	subIssuer        = 16
	subPrefHash      = 21
	subKeyFlags      = 27
	subFeatures      = 30
	subIssuerFpr     = 33
)

// Key flags (RFC 4880, 5.2.3.21).
const (
	flagCertify = 0x01
	flagSign    = 0x02
	flagEncrypt = 0x0C // communications and storage
)

// OpenPGP public key algorithms that sign.
const (
	algoECDSA = 19
	algoEdDSA = 22
)

// signKey is the card's signature key as OpenPGP sees it.
type signKey struct {
	body []byte // v4 public key packet body
	fpr  []byte
	algo byte
	hash crypto.Hash
	// halves is true for ECDSA and EdDSA, whose card signature is r||s.
	halves bool
}

// hashIDs are RFC 4880's numbers for the hashes a signature may use.
var hashIDs = map[crypto.Hash]byte{crypto.SHA256: 8, crypto.SHA384: 9, crypto.SHA512: 10}

// digestInfoPrefix is the DER prefix of PKCS #1 DigestInfo per hash,
// which the card pads and signs for RSA keys.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// subpacket encodes one signature subpacket (bodies here stay short).
func subpacket(typ byte, body ...byte) []byte {
	return append([]byte{byte(1 + len(body)), typ}, body...)
}

// signedPart is what a v4 signature hashes after the data: version,
// type, algorithms and the hashed subpackets.
func (k *signKey) signedPart(sigType byte, created time.Time, extra ...[]byte) []byte {
	var subs []byte
	subs = append(subs, subpacket(subCreated, binary.BigEndian.AppendUint32(nil, uint32(created.Unix()))...)...)
	subs = append(subs, subpacket(subIssuerFpr, append([]byte{4}, k.fpr...)...)...)
	for _, e := range extra {
		subs = append(subs, e...)
	}
	out := []byte{4, sigType, k.algo, hashIDs[k.hash]}
	out = binary.BigEndian.AppendUint16(out, uint16(len(subs)))
	return append(out, subs...)
}

// trailer ends the hashed data of a v4 signature.
func trailer(signed []byte) []byte {
	return binary.BigEndian.AppendUint32([]byte{4, 0xFF}, uint32(len(signed)))
}

// cardInput is what PSO: COMPUTE DIGITAL SIGNATURE takes for a digest:
// DigestInfo for RSA, the bare digest for ECDSA and EdDSA.
func (k *signKey) cardInput(digest []byte) []byte {
	if k.algo == algoRSA {
		return append(bytes.Clone(digestInfoPrefix[k.hash]), digest...)
	}
	return digest
}

// signaturePacket assembles a whole signature packet from the hashed
// part, the digest and the card's raw signature.
func (k *signKey) signaturePacket(signed, digest, raw []byte) ([]byte, error) {
	body := bytes.Clone(signed)
	issuer := subpacket(subIssuer, k.fpr[12:20]...)
	body = binary.BigEndian.AppendUint16(body, uint16(len(issuer)))
	body = append(body, issuer...)
	body = append(body, digest[:2]...)
	if k.halves {
		if len(raw) == 0 || len(raw)%2 != 0 {
			return nil, fmt.Errorf("card signature of %d bytes is not r||s", len(raw))
		}
		half := len(raw) / 2
		body = append(body, mpi(raw[:half])...)
		body = append(body, mpi(raw[half:])...)
	} else {
		if len(raw) == 0 {
			return nil, errors.New("card gave an empty signature")
		}
		body = append(body, mpi(raw)...)
	}
	return packetBytes(2, body), nil
}

// packetBytes is one new-format packet with a definite length.
func packetBytes(tag byte, body []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(0xC0 | tag)
	writeLength(&b, int64(len(body)))
	b.Write(body)
	return b.Bytes()
}

// keyForHash is a key packet body as signatures hash it: 0x99, length, body.
func keyForHash(body []byte) []byte {
	return append([]byte{0x99, byte(len(body) >> 8), byte(len(body))}, body...)
}

// userIDForHash is a user ID as certifications hash it: 0xB4, length, ID.
func userIDForHash(uid string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0xB4}, uint32(len(uid))), uid...)
}

// certSubpackets are the hashed subpackets of the user ID
// self-signature: what the key does and what it prefers.
func certSubpackets() [][]byte {
	return [][]byte{
		subpacket(subKeyFlags, flagCertify|flagSign),
		subpacket(subPrefSymmetric, 9, 8, 7), // AES-256, AES-192, AES-128
		subpacket(subPrefHash, 10, 9, 8),     // SHA-512, SHA-384, SHA-256
		subpacket(subFeatures, 0x01),         // MDC
	}
}

// armorBytes wraps binary OpenPGP data in ASCII armor of the given type
// ("PGP SIGNATURE", "PGP PUBLIC KEY BLOCK").
func armorBytes(blockType string, data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, blockType, nil)
	if err != nil {
		return nil, fmt.Errorf("armor: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("armor: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("armor: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
