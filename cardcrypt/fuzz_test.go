package cardcrypt

import (
	"encoding/hex"
	"testing"
	"time"
)

// FuzzCardReplies feeds arbitrary card replies to the parsers of
// application data and public key templates: they may fail, never panic.
func FuzzCardReplies(f *testing.F) {
	for _, rec := range [][][2]string{recordedRSA, recordedCv25519} {
		for _, ex := range rec {
			b, _ := hex.DecodeString(ex[1])
			f.Add(b[:len(b)-2])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ad, err := parseAppData(data); err == nil {
			for _, attr := range ad.attrs {
				algorithmName(attr)
				keyBodies(attr, data, time.Unix(0, 0))
			}
			extendedLength(ad.historical)
		}
		findTag(data, 0x86)
	})
}

// FuzzRecipient feeds arbitrary --recipient file contents to the key
// parser: any bytes get a key or an error, never a panic, and a key it
// accepts can be encrypted to.
func FuzzRecipient(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Add([]byte("not a key"))
	f.Add([]byte{0x99, 0x00, 0x0d, 0x04})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parseRecipient(data)
		if err != nil {
			return
		}
		if _, err := NewEncryptor([]*Key{key}, false); err != nil {
			t.Fatalf("a key the parser accepted cannot be encrypted to: %v", err)
		}
	})
}
