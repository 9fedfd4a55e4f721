package cardcrypt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Key slots of an OpenPGP card, in the order of C5 and CD.
const (
	SlotSign = iota
	SlotDecrypt
	SlotAuth
)

// appData is what the card's application related data (6E) says.
type appData struct {
	aid          []byte
	historical   []byte
	attrs        [3][]byte
	fingerprints [3][]byte // nil when the slot is empty
	times        [3]time.Time
	pwStatus     []byte // C4: PIN policy, lengths, retry counters
}

// parseAppData reads the objects of GET DATA 6E, with or without the 6E
// wrapper around them.
func parseAppData(data []byte) (*appData, error) {
	ad := &appData{}
	ad.aid, _ = findTag(data, 0x4F)
	ad.historical, _ = findTag(data, 0x5F52)
	for i, tag := range []uint16{0xC1, 0xC2, 0xC3} {
		ad.attrs[i], _ = findTag(data, tag)
	}
	ad.pwStatus, _ = findTag(data, 0xC4)
	fprs, ok := findTag(data, 0xC5)
	if !ok || len(fprs) < 60 {
		return nil, fmt.Errorf("application data: fingerprints (C5) missing or short (%d bytes)", len(fprs))
	}
	for i := range 3 {
		fpr := fprs[i*20 : i*20+20]
		if !allZero(fpr) {
			ad.fingerprints[i] = bytes.Clone(fpr)
		}
	}
	if ts, ok := findTag(data, 0xCD); ok && len(ts) >= 12 {
		for i := range 3 {
			if s := binary.BigEndian.Uint32(ts[i*4:]); s != 0 {
				ad.times[i] = time.Unix(int64(s), 0).UTC()
			}
		}
	}
	return ad, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// extendedLength reports whether the historical bytes announce extended
// Lc/Le (card capabilities, compact-TLV tag 7, third byte, bit 0x40).
func extendedLength(hist []byte) bool {
	if len(hist) == 0 || hist[0] != 0x00 {
		return false
	}
	b := hist[1:]
	if len(b) >= 3 {
		b = b[:len(b)-3] // status indicator at the end
	}
	for len(b) > 0 {
		tag, n := b[0]>>4, int(b[0]&0x0F)
		if len(b) < 1+n {
			return false
		}
		if tag == 0x7 && n >= 3 {
			return b[3]&0x40 != 0
		}
		b = b[1+n:]
	}
	return false
}

// algorithmName names algorithm attributes as gpg --card-status does.
func algorithmName(attr []byte) string {
	if len(attr) == 0 {
		return "unknown"
	}
	if attr[0] == 0x01 && len(attr) >= 3 {
		return fmt.Sprintf("rsa%d", binary.BigEndian.Uint16(attr[1:3]))
	}
	if c := curveByOID(attr[1:]); c != nil {
		if attr[0] == 0x12 {
			return c.ecdhName
		}
		return c.signName
	}
	return "unknown (" + hex.EncodeToString(attr) + ")"
}

// cardholderName turns the card's "Surname<<Given<Names" into "Given Names Surname".
func cardholderName(raw string) string {
	surname, given, ok := strings.Cut(raw, "<<")
	if !ok {
		return strings.ReplaceAll(raw, "<", " ")
	}
	return strings.TrimSpace(strings.ReplaceAll(given, "<", " ") + " " + strings.ReplaceAll(surname, "<", " "))
}
