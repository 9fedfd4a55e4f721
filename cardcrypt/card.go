// Package cardcrypt reads the public encryption key of an OpenPGP card
// over PC/SC and encrypts files to it (and to further recipients) as
// standard OpenPGP messages while streaming, with sizes known up front.
// It talks APDUs and OpenPGP packets; it knows nothing of HTTP or FTP.
package cardcrypt

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Key is a public key to encrypt to.
type Key struct {
	// Public is the encryption key (the card's decryption slot or a
	// key file's encryption subkey).
	Public *packet.PublicKey
	// Source says where the key came from, for logs.
	Source string
	// Reader is the PC/SC reader of a card's key; "" for key files.
	Reader string
	// Primary is the fingerprint of the primary key the encryption key
	// belongs to, the one gpg --list-keys shows; nil when not known.
	Primary []byte
	// UserID is the key's primary user ID ("Ada <ada@example.org>"); ""
	// when not known.
	UserID string
}

// Describe names the key for people: user ID and primary fingerprint.
func (k *Key) Describe() string {
	what := "key " + k.PrimaryFingerprint()
	if len(k.Primary) == 0 {
		what = "encryption key " + k.Fingerprint()
	}
	switch {
	case k.UserID != "":
		return k.UserID + ", " + what
	case k.Reader != "":
		return "the OpenPGP card in " + k.Reader + ", " + what
	}
	return what
}

// PrimaryFingerprint is the primary key's fingerprint in upper-case hex,
// or the encryption key's own when the primary is not known.
func (k *Key) PrimaryFingerprint() string {
	if len(k.Primary) == 0 {
		return k.Fingerprint()
	}
	return strings.ToUpper(hex.EncodeToString(k.Primary))
}

// Fingerprint is the key's fingerprint in upper-case hex.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(k.Public.Fingerprint))
}

// KeyInfo describes one key slot of a card.
type KeyInfo struct {
	Algorithm   string
	Fingerprint []byte    // nil when the slot is empty
	Created     time.Time // zero when unknown
}

// Status is what a card holds, for `share card`.
type Status struct {
	Reader       string
	AID          []byte
	Version      string
	Manufacturer string
	Serial       string
	Cardholder   string
	Keys         [3]KeyInfo // signature, encryption, authentication
	Counters     Counters
}

// readEncryptionKey reads and checks the decryption slot's public key.
func readEncryptionKey(ch *channel) (*Key, error) {
	ad, err := readAppData(ch)
	if err != nil {
		return nil, err
	}
	want := ad.fingerprints[SlotDecrypt]
	if want == nil {
		return nil, ErrNoKey
	}
	ch.extended = extendedLength(ad.historical)
	tmpl, err := ch.sendLong(0x47, 0x81, 0x00, []byte{0xB8, 0x00})
	if err != nil {
		return nil, fmt.Errorf("read the card's encryption key: %w", err)
	}
	bodies, err := keyBodies(ad.attrs[SlotDecrypt], tmpl, ad.times[SlotDecrypt])
	if err != nil {
		return nil, fmt.Errorf("card encryption key: %w", err)
	}
	pk, err := matchKey(bodies, want)
	if err != nil {
		return nil, err
	}
	return &Key{Public: pk}, nil
}

func readAppData(ch *channel) (*appData, error) {
	data, err := ch.send(0xCA, 0x00, 0x6E, nil)
	if err != nil {
		return nil, fmt.Errorf("read application data (6E): %w", err)
	}
	return parseAppData(data)
}

func readStatus(ch *channel, st *Status) error {
	ad, err := readAppData(ch)
	if err != nil {
		return err
	}
	st.AID = ad.aid
	if len(ad.aid) >= 14 {
		st.Version = fmt.Sprintf("%d.%d", ad.aid[6], ad.aid[7])
		st.Manufacturer = manufacturerName(binary.BigEndian.Uint16(ad.aid[8:10]))
		st.Serial = strings.ToUpper(hex.EncodeToString(ad.aid[10:14]))
	}
	for i := range st.Keys {
		st.Keys[i] = KeyInfo{
			Algorithm:   algorithmName(ad.attrs[i]),
			Fingerprint: ad.fingerprints[i],
			Created:     ad.times[i],
		}
	}
	if err := readCounters(ch, ad, &st.Counters); err != nil {
		return err
	}
	holder, err := ch.send(0xCA, 0x00, 0x65, nil)
	if err != nil {
		return fmt.Errorf("read cardholder data (65): %w", err)
	}
	if name, ok := findTag(holder, 0x5B); ok {
		st.Cardholder = cardholderName(string(name))
	}
	return nil
}

// manufacturerName names the card maker from the AID, as GnuPG lists them.
func manufacturerName(id uint16) string {
	names := map[uint16]string{
		0x0001: "PPC Card Systems", 0x0002: "Prism", 0x0003: "OpenFortress",
		0x0004: "Wewid", 0x0005: "ZeitControl", 0x0006: "Yubico",
		0x0007: "OpenKMS", 0x0008: "LogoEmail", 0x000F: "Nitrokey",
		0x002A: "Magrathea", 0x0042: "GnuPG e.V.", 0x1337: "Warsaw Hackerspace",
		0x2342: "warpzone", 0x4354: "Confidential Technologies",
		0x63AF: "Trustica", 0xBD0E: "Paranoidlabs", 0xF517: "FSIJ",
		0xF5EC: "F-Secure", 0x0000: "test card", 0xFFFF: "test card",
	}
	if n, ok := names[id]; ok {
		return n
	}
	if id >= 0xFF00 {
		return "unmanaged S/N range"
	}
	return fmt.Sprintf("unknown (%04X)", id)
}

// String prints the status like gpg --card-status.
func (st *Status) String() string {
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "%s: %s\n", dotted(label), value) }
	line("Reader", st.Reader)
	line("Application ID", strings.ToUpper(hex.EncodeToString(st.AID)))
	line("Version", st.Version)
	line("Manufacturer", st.Manufacturer)
	line("Serial number", st.Serial)
	line("Name of cardholder", orNotSet(st.Cardholder))
	st.Counters.print(line)
	for i, label := range []string{"Signature key", "Encryption key", "Authentication key"} {
		k := st.Keys[i]
		if k.Fingerprint == nil {
			line(label, "[none] ("+k.Algorithm+")")
			continue
		}
		line(label, k.Algorithm+" "+formatFingerprint(k.Fingerprint))
		if !k.Created.IsZero() {
			line("      created", k.Created.Format("2006-01-02 15:04:05"))
		}
	}
	return b.String()
}

// dotted pads a label with dots to GnuPG's column.
func dotted(label string) string {
	const width = 18
	if len(label) >= width {
		return label
	}
	return label + " " + strings.Repeat(".", width-len(label)-1)
}

func orNotSet(s string) string {
	if s == "" {
		return "[not set]"
	}
	return s
}

// formatFingerprint groups the hex digits in fours as GnuPG does.
func formatFingerprint(fpr []byte) string {
	h := strings.ToUpper(hex.EncodeToString(fpr))
	var groups []string
	for len(h) > 4 {
		groups = append(groups, h[:4])
		h = h[4:]
	}
	return strings.Join(append(groups, h), " ")
}
