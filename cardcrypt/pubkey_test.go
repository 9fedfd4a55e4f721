package cardcrypt

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"example.com/share/internal/cardtest"
)

// TestRebuildMatchesGnuPGKeys takes encryption subkeys GnuPG made, turns
// them into what a card would report (attributes, 7F49 template,
// creation time) and checks that the rebuilt key has GnuPG's
// fingerprint (the KDF parameters the card does not store are found)
// and that GnuPG decrypts what is encrypted to it.
func TestRebuildMatchesGnuPGKeys(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	for _, algo := range []string{"rsa2048", "cv25519", "nistp256", "nistp384", "nistp521"} {
		t.Run(algo, func(t *testing.T) {
			sign := algo
			if algo == "cv25519" {
				sign = "ed25519"
			}
			key, err := LoadRecipientFile(g.GenerateSoftware(algo+"@example.org", sign, algo))
			if err != nil {
				t.Fatal(err)
			}
			attr, tmpl := asCard(t, key.Public)
			bodies, err := keyBodies(attr, tmpl, key.Public.CreationTime)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := matchKey(bodies, key.Public.Fingerprint)
			if err != nil {
				t.Fatalf("%v (tried %d candidates)", err, len(bodies))
			}
			if pk.KeyId != key.Public.KeyId {
				t.Errorf("key ID %X, want %X", pk.KeyId, key.Public.KeyId)
			}
			e, err := NewEncryptor([]*Key{{Public: pk, Source: "rebuilt"}}, false)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, g, e, algo, 10_000, 10_000)
		})
	}
}

// asCard encodes a public key as an OpenPGP card reports it.
func asCard(t *testing.T, pk *packet.PublicKey) (attr, template []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := pk.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	body := skipHeader(t, buf.Bytes())[6:] // version, time, algorithm
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA:
		n, rest := readMPI(body)
		e, _ := readMPI(rest)
		bits := binary.BigEndian.Uint16(body)
		attr = []byte{0x01, byte(bits >> 8), byte(bits), 0x00, 0x20, 0x00}
		return attr, append(encodeTLV(0x81, n), encodeTLV(0x82, e)...)
	case packet.PubKeyAlgoECDH:
		oid := body[1 : 1+body[0]]
		point, _ := readMPI(body[1+body[0]:])
		if point[0] == 0x40 { // cards give Curve25519 points without the prefix
			point = point[1:]
		}
		return append([]byte{0x12}, oid...), encodeTLV(0x86, point)
	}
	t.Fatalf("algorithm %d", pk.PubKeyAlgo)
	return nil, nil
}

func skipHeader(t *testing.T, pkt []byte) []byte {
	t.Helper()
	switch l := pkt[1]; {
	case l < 192:
		return pkt[2:]
	case l < 224:
		return pkt[3:]
	case l == 255:
		return pkt[6:]
	}
	t.Fatal("unexpected packet length encoding")
	return nil
}

func readMPI(b []byte) (value, rest []byte) {
	n := (int(binary.BigEndian.Uint16(b)) + 7) / 8
	return b[2 : 2+n], b[2+n:]
}

func encodeTLV(tag byte, v []byte) []byte {
	switch {
	case len(v) < 0x80:
		return append([]byte{tag, byte(len(v))}, v...)
	case len(v) < 0x100:
		return append([]byte{tag, 0x81, byte(len(v))}, v...)
	}
	return append([]byte{tag, 0x82, byte(len(v) >> 8), byte(len(v))}, v...)
}
