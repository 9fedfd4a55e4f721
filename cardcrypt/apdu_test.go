package cardcrypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// script is a card that replays recorded exchanges, failing the test
// when a command differs from the recording.
type script struct {
	t    *testing.T
	exch [][2]string // command, reply (hex)
}

func (s *script) Transmit(cmd []byte) ([]byte, error) {
	if len(s.exch) == 0 {
		s.t.Fatalf("unexpected command %X", cmd)
	}
	want, reply := s.exch[0][0], s.exch[0][1]
	s.exch = s.exch[1:]
	if got := strings.ToUpper(hex.EncodeToString(cmd)); got != want {
		s.t.Fatalf("command %s, want %s", got, want)
	}
	return hex.DecodeString(reply)
}

// Replies recorded from pcscd's APDU log with the virtual card after
// GnuPG generated its keys: GET DATA 6E, then the decryption key's
// public part (RSA in two pieces through GET RESPONSE).
var (
	recordedRSA = [][2]string{
		{"00CA006E00",
			"4F10D276000124010304FFFE1234567800005F520A0031F573C001800090007381B7C00A34000000080000FF0000C106010800002000C206010800002000C306010800002000C407017F7F7F030003C53CED0D1A4D292FF994058DFBCE8350C554D295E1B943175DD8D6AB57C738BC403F8E617B627197D3561C64AD6C509B9143FF956ECB0C233246100D36BDC63C000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000CD0C6B06FD1E6B06FD1E6B06FD1E9000"},
		{"0047810002B80000",
			"7F4982010981820100BB3975FB4D48D56FC740609D76106AEA601C890EC42D94114B5C12B4C1261E742BB289E355FC98B283ACA233B19B07C5F36397C767233EFF5ACD5C409BF822DDE439D4D548D826A681DC13B8136FE82564D4405FF07631578646FF64A01006D2629E8CD4921F902017947FC14D3DEA1BEB2CEA7A1AF5DBFFA309815C1F2C87000EA3D133E32F769DE51FCE870904634CB6E57AC9195F83068D5BF28F951101E874B674DA8C12B97D5577E7787D1527F31F242F0DE40CB76FA37FF8A558D3FC619B7F31931A035ED9A6A8A79360D3888948ECB846CEF75E7F7F373A5C5B5033514F13AD6F2E832149B6A7316A833272284169C58544DEF2610E"},
		{"00C000000E",
			"AF41A32303DD94ED5B82030100019000"},
	}
	recordedRSAFingerprint = "43175DD8D6AB57C738BC403F8E617B627197D356"

	recordedCv25519 = [][2]string{
		{"00CA006E00",
			"4F10D276000124010304FFFE1234567800005F520A0031F573C001800090007381C4C00A34000000080000FF0000C10A162B06010401DA470F01C20B122B060104019755010501C30A162B06010401DA470F01C407017F7F7F030003C53C6844BEE1DA9E4BA707A35BA2A4A14A77A24C42CDF1063ECAF71E29B365A34496BFB90276FDF66523F4A8097BCED6BFB59C8A9D23AA43927F9EC4DF27C63C000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000CD0C6B06FD2C6B06FD2C6B06FD2C9000"},
		{"0047810002B80000",
			"7F49228620730778ECD0955190EEFCC29E6275E88AB6095D1A27D98CE0669ED5785FCCAF599000"},
	}
	recordedCv25519Fingerprint = "F1063ECAF71E29B365A34496BFB90276FDF66523"
)

func TestReadEncryptionKeyFromRecordings(t *testing.T) {
	for _, tc := range []struct {
		name string
		exch [][2]string
		fpr  string
	}{
		{"rsa2048", recordedRSA, recordedRSAFingerprint},
		{"cv25519", recordedCv25519, recordedCv25519Fingerprint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{t: t, exch: tc.exch}
			key, err := readEncryptionKey(&channel{t: s})
			if err != nil {
				t.Fatal(err)
			}
			if key.Fingerprint() != tc.fpr {
				t.Fatalf("fingerprint %s, want %s", key.Fingerprint(), tc.fpr)
			}
			if len(s.exch) != 0 {
				t.Fatalf("%d recorded exchanges left over", len(s.exch))
			}
		})
	}
}

func TestFingerprintMismatchIsRefused(t *testing.T) {
	exch := append([][2]string{}, recordedCv25519...)
	// Change one byte of the decryption fingerprint in the 6E reply.
	fpr := recordedCv25519Fingerprint
	exch[0][1] = strings.Replace(exch[0][1], fpr, "00"+fpr[2:], 1)
	_, err := readEncryptionKey(&channel{t: &script{t: t, exch: exch}})
	if !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("got %v, want ErrFingerprintMismatch", err)
	}
}

func TestExchange(t *testing.T) {
	for _, tc := range []struct {
		name string
		ch   channel
		data []byte
		exch [][2]string
		want string
	}{
		{"plain", channel{}, nil, [][2]string{{"00CA006E00", "01029000"}}, "0102"},
		{"get response", channel{}, nil, [][2]string{
			{"00CA006E00", "01026103"},
			{"00C0000003", "0304056101"},
			{"00C0000001", "069000"},
		}, "010203040506"},
		{"wrong Le", channel{}, nil, [][2]string{
			{"00CA006E00", "6C05"},
			{"00CA006E05", "01020304059000"},
		}, "0102030405"},
		{"command chaining", channel{}, bytes.Repeat([]byte{0xAA}, 300), [][2]string{
			{"102A8086FF" + strings.Repeat("AA", 255), "9000"},
			{"002A80862D" + strings.Repeat("AA", 45) + "00", "42429000"},
		}, "4242"},
		{"extended length", channel{extended: true}, bytes.Repeat([]byte{0xAA}, 300), [][2]string{
			{"002A808600012C" + strings.Repeat("AA", 300) + "0000", "42429000"},
		}, "4242"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ch.t = &script{t: t, exch: tc.exch}
			ins, p1, p2 := byte(0xCA), byte(0x00), byte(0x6E)
			if tc.data != nil {
				ins, p1, p2 = 0x2A, 0x80, 0x86
			}
			got, err := tc.ch.send(ins, p1, p2, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if h := strings.ToUpper(hex.EncodeToString(got)); h != tc.want {
				t.Fatalf("reply %s, want %s", h, tc.want)
			}
		})
	}
}

func TestExchangeErrors(t *testing.T) {
	ch := channel{t: &script{t: t, exch: [][2]string{{"00A4040006D27600012401", "6A82"}}}}
	_, err := ch.exchange([]byte{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01})
	var se *StatusError
	if !errors.As(err, &se) || se.SW != 0x6A82 {
		t.Fatalf("got %v, want status 6A82", err)
	}
	ch = channel{t: &script{t: t, exch: [][2]string{{"00CA006E00", "90"}}}}
	if _, err := ch.send(0xCA, 0x00, 0x6E, nil); err == nil {
		t.Fatal("a one-byte reply was accepted")
	}
}

func TestExtendedLengthFromHistoricalBytes(t *testing.T) {
	for hist, want := range map[string]bool{
		"0031F573C00180009000": false,
		"0031F573C001C0009000": true,
		"00730000E0059000":     true, // YubiKey 5
		"":                     false,
		"80":                   false,
	} {
		b, _ := hex.DecodeString(hist)
		if got := extendedLength(b); got != want {
			t.Errorf("extendedLength(%s) = %v, want %v", hist, got, want)
		}
	}
}

func TestParseTLVRejectsTruncation(t *testing.T) {
	for _, h := range []string{"4F", "4F05010203", "5F", "7F4982", "C58180"} {
		b, _ := hex.DecodeString(h)
		if _, err := parseTLVs(b); err == nil {
			t.Errorf("parseTLVs(%s) accepted truncated data", h)
		}
	}
}

func TestCardholderName(t *testing.T) {
	for raw, want := range map[string]string{
		"Doe<<John":      "John Doe",
		"Doe<<John<Paul": "John Paul Doe",
		"Plain":          "Plain",
		"":               "",
	} {
		if got := cardholderName(raw); got != want {
			t.Errorf("cardholderName(%q) = %q, want %q", raw, got, want)
		}
	}
}
