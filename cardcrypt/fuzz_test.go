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
