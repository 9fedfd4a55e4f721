//go:build linux && cgo

package cardcrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"example.com/share/internal/cardtest"
)

// TestCardKeyThroughPCSC has GnuPG create keys on the virtual card, reads
// the encryption key back over PC/SC, and has GnuPG decrypt through the
// card what was encrypted to it.
func TestCardKeyThroughPCSC(t *testing.T) {
	for _, tc := range []struct {
		algo  string
		flags []string
	}{
		{cardtest.RSA, nil},
		{cardtest.Cv25519, nil},
		{cardtest.RSA, []string{"-extended"}},
		{cardtest.RSA4096, nil},
		{cardtest.RSA4096, []string{"-extended"}},
		{cardtest.NISTP256, nil},
	} {
		t.Run(tc.algo+strings.Join(tc.flags, ""), func(t *testing.T) {
			stack := cardtest.Start(t, tc.flags...)
			g := cardtest.NewGnuPG(t, true)
			want := g.GenerateOnCard(tc.algo, "owner@example.org")

			key, err := ReadCardKey("")
			if err != nil {
				t.Fatal(err)
			}
			if key.Fingerprint() != want {
				t.Fatalf("card key %s, GnuPG made %s", key.Fingerprint(), want)
			}
			e, err := NewEncryptor([]*Key{key}, false)
			if err != nil {
				t.Fatal(err)
			}
			plain := make([]byte, 50_000)
			rand.Read(plain)
			var msg bytes.Buffer
			w, _ := e.EncryptTo(&msg, "card.bin", int64(len(plain)))
			w.Write(plain)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := g.Decrypt(msg.Bytes())
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("gpg --decrypt through the card: %v (%d bytes back)", err, len(got))
			}

			st, err := ReadCardStatus(cardtest.ReaderName)
			if err != nil {
				t.Fatal(err)
			}
			if st.Serial != "12345678" || st.Version != "3.4" || st.Cardholder != "" {
				t.Errorf("status %+v", st)
			}
			if !bytes.Equal(st.Keys[SlotDecrypt].Fingerprint, key.Public.Fingerprint) {
				t.Errorf("status encryption key %X, want %s", st.Keys[SlotDecrypt].Fingerprint, want)
			}
			if st.Keys[SlotDecrypt].Created.IsZero() || st.Keys[SlotSign].Fingerprint == nil {
				t.Errorf("status lacks key data: %+v", st.Keys)
			}
			if !strings.Contains(st.String(), formatFingerprint(key.Public.Fingerprint)) {
				t.Errorf("status text lacks the fingerprint:\n%s", st)
			}
			_ = stack
		})
	}
}

func TestCardErrors(t *testing.T) {
	t.Run("no PC/SC service", func(t *testing.T) {
		cardtest.Lock(t)
		expectError(t, ErrNoService)
	})
	t.Run("no reader", func(t *testing.T) {
		s := cardtest.Lock(t)
		s.StartPCSCD(false)
		expectError(t, ErrNoReader)
	})
	t.Run("no card", func(t *testing.T) {
		s := cardtest.Lock(t)
		s.StartPCSCD(true)
		expectError(t, ErrNoCard)
	})
	t.Run("not an OpenPGP card", func(t *testing.T) {
		cardtest.Start(t, "-not-openpgp")
		expectError(t, ErrNotOpenPGP)
	})
	t.Run("no encryption key", func(t *testing.T) {
		cardtest.Start(t)
		expectError(t, ErrNoKey)
	})
	t.Run("unknown reader", func(t *testing.T) {
		cardtest.Start(t)
		_, err := ReadCardKey("No Such Reader")
		if err == nil || !strings.Contains(err.Error(), "--reader") {
			t.Fatalf("got %v, want a message naming --reader", err)
		}
	})
	t.Run("fingerprint mismatch", func(t *testing.T) {
		s := cardtest.Start(t)
		g := cardtest.NewGnuPG(t, true)
		g.GenerateOnCard(cardtest.RSA, "owner@example.org")
		g.Kill()
		s.Remove()
		corruptFingerprint(t, s.State)
		s.Insert()
		expectError(t, ErrFingerprintMismatch)
	})
	t.Run("card held exclusively", func(t *testing.T) {
		cardtest.Start(t)
		g := cardtest.NewGnuPG(t, false)
		g.Run(nil, "--card-status") // scdaemon keeps the card, exclusively
		expectError(t, ErrCardBusy)
	})
}

func expectError(t *testing.T, want error) {
	t.Helper()
	_, err := ReadCardKey("")
	if !errors.Is(err, want) {
		t.Fatalf("ReadCardKey: %v, want %v", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("message is not one line: %q", err)
	}
}

// corruptFingerprint changes the decryption key fingerprint (C8) in the
// virtual card's state file, as a card whose key was replaced without
// updating the fingerprint would hold.
func corruptFingerprint(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	objs := st["Objects"].(map[string]any)
	objs["C8"] = "AAECAwQFBgcICQoLDA0ODxAREhM=" // 00 01 02 ... 13
	data, _ = json.Marshal(st)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
