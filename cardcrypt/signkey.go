package cardcrypt

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"encoding/hex"
)

// ErrNoSignKey is a card without a signature key.
var ErrNoSignKey = errors.New("the OpenPGP card has no signature key: create one with gpg --card-edit (admin, generate)")

// newSignKey rebuilds the card's signature key from its algorithm
// attributes and 7F49 template, and checks it against the fingerprint
// the card stores.
func newSignKey(attr, template []byte, created time.Time, want []byte) (*signKey, error) {
	if len(attr) == 0 {
		return nil, errors.New("card gives no algorithm attributes for the signature key")
	}
	head := binary.BigEndian.AppendUint32([]byte{4}, uint32(created.Unix()))
	k := &signKey{hash: crypto.SHA256}
	switch attr[0] {
	case 0x01:
		var err error
		k.algo = algoRSA
		if k.body, err = rsaBody(head, template); err != nil {
			return nil, err
		}
	case 0x13, 0x16:
		if err := k.setCurve(attr, template, head); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("signature key algorithm %s is not supported", algorithmName(attr))
	}
	k.fpr = v4Fingerprint(k.body)
	if !bytes.Equal(k.fpr, want) {
		return nil, fmt.Errorf("the card's signature key does not match its stored fingerprint %s: regenerate or re-import the key",
			strings.ToUpper(hex.EncodeToString(want)))
	}
	return k, nil
}

// setCurve fills in an ECDSA (attributes 0x13) or EdDSA (0x16) key.
func (k *signKey) setCurve(attr, template, head []byte) error {
	c := curveByOID(attr[1:])
	if c == nil {
		return fmt.Errorf("signature curve %s is not supported", algorithmName(attr))
	}
	point, ok := findTag(template, 0x86)
	if !ok {
		return errors.New("ECC public key template lacks the point (86)")
	}
	k.halves = true
	k.algo = algoECDSA
	if attr[0] == 0x16 {
		k.algo = algoEdDSA
		if len(point) == 32 {
			point = append([]byte{0x40}, point...)
		}
	}
	switch c.signName {
	case "nistp384":
		k.hash = crypto.SHA384
	case "nistp521":
		k.hash = crypto.SHA512
	}
	body := append(head, k.algo, byte(len(c.oid)))
	body = append(body, c.oid...)
	k.body = append(body, mpi(point)...)
	return nil
}
