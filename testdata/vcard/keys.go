package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
)

// Curve object identifiers as they appear in algorithm attributes.
var (
	oidCv25519 = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01}
	oidEd25519 = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01}
	oidP256    = []byte{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}
	oidP384    = []byte{0x2B, 0x81, 0x04, 0x00, 0x22}
)

// algorithm is what a slot's attributes select.
type algorithm int

const (
	algRSA algorithm = iota
	algX25519
	algEd25519
	algP256ECDH
	algP256ECDSA
	algP384ECDH
	algP384ECDSA
)

// algorithmOf reads algorithm attributes (C1, C2, C3).
func algorithmOf(attr []byte) (algorithm, error) {
	if len(attr) == 0 {
		return 0, errors.New("empty algorithm attributes")
	}
	switch {
	case attr[0] == 0x01 && len(attr) >= 5:
		bits := binary.BigEndian.Uint16(attr[1:])
		if bits < 2048 || bits > 4096 {
			return 0, fmt.Errorf("RSA %d not supported", bits)
		}
		return algRSA, nil
	case attr[0] == 0x12 && hasOID(attr, oidCv25519):
		return algX25519, nil
	case attr[0] == 0x16 && hasOID(attr, oidEd25519):
		return algEd25519, nil
	case attr[0] == 0x12 && hasOID(attr, oidP256):
		return algP256ECDH, nil
	case attr[0] == 0x13 && hasOID(attr, oidP256):
		return algP256ECDSA, nil
	case attr[0] == 0x12 && hasOID(attr, oidP384):
		return algP384ECDH, nil
	case attr[0] == 0x13 && hasOID(attr, oidP384):
		return algP384ECDSA, nil
	}
	return 0, fmt.Errorf("algorithm attributes % X not supported", attr)
}

// hasOID reports whether ECC attributes name the curve, allowing the
// optional import format byte after the OID.
func hasOID(attr, oid []byte) bool {
	rest := attr[1:]
	return bytes.HasPrefix(rest, oid) && len(rest) <= len(oid)+1
}

// generateKey makes a private key and returns its stored form: PKCS #1
// for RSA, the raw scalar or seed for the curves.
func generateKey(attr []byte) ([]byte, error) {
	alg, err := algorithmOf(attr)
	if err != nil {
		return nil, err
	}
	switch alg {
	case algRSA:
		k, err := rsa.GenerateKey(rand.Reader, int(binary.BigEndian.Uint16(attr[1:])))
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS1PrivateKey(k), nil
	case algX25519:
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k.Bytes(), nil
	case algEd25519:
		seed := make([]byte, ed25519.SeedSize)
		_, err := rand.Read(seed)
		return seed, err
	default:
		k, err := nistCurve(alg).GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k.Bytes(), nil
	}
}

// nistCurve is the NIST curve of an ECDH or ECDSA algorithm.
func nistCurve(alg algorithm) ecdh.Curve {
	if alg == algP384ECDH || alg == algP384ECDSA {
		return ecdh.P384()
	}
	return ecdh.P256()
}

// publicTemplate is the content of the 7F49 public key template.
func publicTemplate(attr, priv []byte) ([]byte, error) {
	alg, err := algorithmOf(attr)
	if err != nil {
		return nil, err
	}
	switch alg {
	case algRSA:
		k, err := x509.ParsePKCS1PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		e := binary.BigEndian.AppendUint32(nil, uint32(k.E))
		e = bytes.TrimLeft(e, "\x00")
		return append(tlv(0x81, k.N.Bytes()), tlv(0x82, e)...), nil
	case algX25519:
		k, err := ecdh.X25519().NewPrivateKey(priv)
		if err != nil {
			return nil, err
		}
		return tlv(0x86, k.PublicKey().Bytes()), nil
	case algEd25519:
		k := ed25519.NewKeyFromSeed(priv)
		return tlv(0x86, k.Public().(ed25519.PublicKey)), nil
	default:
		k, err := nistCurve(alg).NewPrivateKey(priv)
		if err != nil {
			return nil, err
		}
		return tlv(0x86, k.PublicKey().Bytes()), nil
	}
}

// signWith makes a signature: PKCS #1 v1.5 over the DigestInfo the host
// sends for RSA, EdDSA or ECDSA over the digest for the curves.
func signWith(attr, priv, data []byte) ([]byte, error) {
	alg, err := algorithmOf(attr)
	if err != nil {
		return nil, err
	}
	switch alg {
	case algRSA:
		k, err := x509.ParsePKCS1PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		return rsa.SignPKCS1v15(nil, k, 0, data)
	case algEd25519:
		return ed25519.Sign(ed25519.NewKeyFromSeed(priv), data), nil
	case algP256ECDSA, algP384ECDSA:
		return signECDSA(alg, priv, data)
	}
	return nil, errors.New("key cannot sign")
}

// decipherWith is PSO:DECIPHER: for RSA a padding indicator byte and the
// cryptogram, answered with the unpadded message; for ECDH the
// A6 { 7F49 { 86 point } } template, answered with the shared secret.
func decipherWith(attr, priv, data []byte) ([]byte, error) {
	alg, err := algorithmOf(attr)
	if err != nil {
		return nil, err
	}
	switch alg {
	case algRSA:
		k, err := x509.ParsePKCS1PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		if len(data) < 2 || data[0] != 0x00 {
			return nil, errors.New("no padding indicator")
		}
		return rsa.DecryptPKCS1v15(nil, k, data[1:])
	case algX25519:
		point, err := findTag(data, 0x86)
		if err != nil {
			return nil, err
		}
		if len(point) == 33 && point[0] == 0x40 {
			point = point[1:]
		}
		return sharedSecret(ecdh.X25519(), priv, point)
	case algP256ECDH, algP384ECDH:
		point, err := findTag(data, 0x86)
		if err != nil {
			return nil, err
		}
		return sharedSecret(nistCurve(alg), priv, point)
	}
	return nil, errors.New("key cannot decipher")
}

// signECDSA signs a digest and answers r||s, each as long as the curve's order.
func signECDSA(alg algorithm, priv, digest []byte) ([]byte, error) {
	curve, size := elliptic.P256(), 32
	if alg == algP384ECDSA {
		curve, size = elliptic.P384(), 48
	}
	k, err := ecdsa.ParseRawPrivateKey(curve, priv)
	if err != nil {
		return nil, err
	}
	r, s, err := ecdsa.Sign(rand.Reader, k, digest)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

func sharedSecret(curve ecdh.Curve, priv, point []byte) ([]byte, error) {
	k, err := curve.NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub, err := curve.NewPublicKey(point)
	if err != nil {
		return nil, err
	}
	return k.ECDH(pub)
}

// findTag looks for a tag in nested BER-TLV data, descending into
// constructed objects.
func findTag(data []byte, want uint16) ([]byte, error) {
	for len(data) > 0 {
		tag, value, rest, err := nextTLV(data)
		if err != nil {
			return nil, err
		}
		if tag == want {
			return value, nil
		}
		if constructed(tag) {
			if v, err := findTag(value, want); err == nil {
				return v, nil
			}
		}
		data = rest
	}
	return nil, fmt.Errorf("tag %X not found", want)
}

func constructed(tag uint16) bool {
	first := byte(tag)
	if tag > 0xFF {
		first = byte(tag >> 8)
	}
	return first&0x20 != 0
}

func nextTLV(data []byte) (tag uint16, value, rest []byte, err error) {
	if len(data) < 2 {
		return 0, nil, nil, errors.New("truncated TLV")
	}
	tag = uint16(data[0])
	data = data[1:]
	if tag&0x1F == 0x1F {
		tag = tag<<8 | uint16(data[0])
		data = data[1:]
	}
	if len(data) == 0 {
		return 0, nil, nil, errors.New("truncated TLV")
	}
	n := int(data[0])
	data = data[1:]
	if n > 0x80 {
		k := n - 0x80
		if k > 2 || len(data) < k {
			return 0, nil, nil, errors.New("bad TLV length")
		}
		n = 0
		for _, b := range data[:k] {
			n = n<<8 | int(b)
		}
		data = data[k:]
	}
	if len(data) < n {
		return 0, nil, nil, errors.New("truncated TLV value")
	}
	return tag, data[:n], data[n:], nil
}
