package cardcrypt

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP public key algorithm numbers (RFC 4880, 9.1).
const (
	algoRSA  = 1
	algoECDH = 18
)

// curve is an elliptic curve a card may hold.
type curve struct {
	oid      []byte
	ecdhName string
	signName string
	// native is true for Curve25519, whose points OpenPGP prefixes with 0x40.
	native bool
	// kdfs are the ECDH KDF parameters (hash, cipher) to try, most
	// likely first: GnuPG's choice for the curve size, then the others.
	kdfs [][2]byte
}

var curves = []curve{
	{oid: []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01}, ecdhName: "cv25519", signName: "cv25519", native: true, kdfs: kdfOrder(0x08, 0x07)},
	{oid: []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01}, ecdhName: "ed25519", signName: "ed25519"},
	{oid: []byte{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, ecdhName: "nistp256", signName: "nistp256", kdfs: kdfOrder(0x08, 0x07)},
	{oid: []byte{0x2B, 0x81, 0x04, 0x00, 0x22}, ecdhName: "nistp384", signName: "nistp384", kdfs: kdfOrder(0x09, 0x09)},
	{oid: []byte{0x2B, 0x81, 0x04, 0x00, 0x23}, ecdhName: "nistp521", signName: "nistp521", kdfs: kdfOrder(0x0A, 0x09)},
}

// kdfOrder lists every SHA-2 hash with every AES key size, the given pair
// first. Only an exact fingerprint match is accepted, so trying more
// candidates cannot pick a wrong key.
func kdfOrder(hash, cipher byte) [][2]byte {
	out := [][2]byte{{hash, cipher}}
	for _, h := range []byte{0x08, 0x09, 0x0A} {
		for _, c := range []byte{0x07, 0x08, 0x09} {
			if h != hash || c != cipher {
				out = append(out, [2]byte{h, c})
			}
		}
	}
	return out
}

// curveByOID finds a curve by the OID in algorithm attributes, which may
// be followed by an import format byte.
func curveByOID(rest []byte) *curve {
	for i := range curves {
		c := &curves[i]
		if bytes.HasPrefix(rest, c.oid) && len(rest) <= len(c.oid)+1 {
			return c
		}
	}
	return nil
}

// mpi encodes an OpenPGP multiprecision integer.
func mpi(b []byte) []byte {
	b = bytes.TrimLeft(b, "\x00")
	n := 0
	if len(b) > 0 {
		n = (len(b)-1)*8 + bits.Len8(b[0])
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(n)), b...)
}

// v4Fingerprint is SHA-1 over 0x99, the body length and the body.
func v4Fingerprint(body []byte) []byte {
	h := sha1.New()
	h.Write([]byte{0x99, byte(len(body) >> 8), byte(len(body))})
	h.Write(body)
	return h.Sum(nil)
}

// keyBodies rebuilds the candidate v4 public key packet bodies for a
// card key from its attributes and 7F49 template.
func keyBodies(attr, template []byte, created time.Time) ([][]byte, error) {
	if len(attr) == 0 {
		return nil, errors.New("card gives no algorithm attributes")
	}
	head := binary.BigEndian.AppendUint32([]byte{4}, uint32(created.Unix()))
	switch attr[0] {
	case 0x01:
		body, err := rsaBody(head, template)
		if err != nil {
			return nil, err
		}
		return [][]byte{body}, nil
	case 0x12:
		return ecdhBodies(attr, template, head)
	}
	return nil, fmt.Errorf("key algorithm %s cannot encrypt", algorithmName(attr))
}

// rsaBody is an RSA key's packet body: head, then modulus and exponent
// from the 7F49 template.
func rsaBody(head, template []byte) ([]byte, error) {
	n, okN := findTag(template, 0x81)
	e, okE := findTag(template, 0x82)
	if !okN || !okE {
		return nil, errors.New("RSA public key template lacks modulus or exponent")
	}
	body := append(head, algoRSA)
	body = append(body, mpi(n)...)
	return append(body, mpi(e)...), nil
}

func ecdhBodies(attr, template, head []byte) ([][]byte, error) {
	c := curveByOID(attr[1:])
	if c == nil || len(c.kdfs) == 0 {
		return nil, fmt.Errorf("ECDH curve %s is not supported", algorithmName(attr))
	}
	point, ok := findTag(template, 0x86)
	if !ok {
		return nil, errors.New("ECC public key template lacks the point (86)")
	}
	if c.native && len(point) == 32 {
		point = append([]byte{0x40}, point...)
	}
	body := append(head, algoECDH, byte(len(c.oid)))
	body = append(body, c.oid...)
	body = append(body, mpi(point)...)
	var out [][]byte
	for _, kdf := range c.kdfs {
		b := append(bytes.Clone(body), 0x03, 0x01, kdf[0], kdf[1])
		out = append(out, b)
	}
	return out, nil
}

// matchKey returns the parsed key whose fingerprint equals want.
func matchKey(bodies [][]byte, want []byte) (*packet.PublicKey, error) {
	for _, body := range bodies {
		if !bytes.Equal(v4Fingerprint(body), want) {
			continue
		}
		return parseKeyBody(body)
	}
	return nil, fmt.Errorf("%w: card says %s", ErrFingerprintMismatch, strings.ToUpper(hex.EncodeToString(want)))
}

// parseKeyBody parses a v4 public subkey packet body with go-crypto.
func parseKeyBody(body []byte) (*packet.PublicKey, error) {
	var pkt bytes.Buffer
	pkt.WriteByte(0xC0 | 14)
	writeLength(&pkt, int64(len(body)))
	pkt.Write(body)
	p, err := packet.Read(&pkt)
	if err != nil {
		return nil, fmt.Errorf("parse rebuilt public key: %w", err)
	}
	pk, ok := p.(*packet.PublicKey)
	if !ok {
		return nil, fmt.Errorf("rebuilt public key parsed as %T", p)
	}
	return pk, nil
}
