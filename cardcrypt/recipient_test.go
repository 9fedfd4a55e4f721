package cardcrypt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/cardtest"
)

// TestRecipientFileErrors checks that each unusable --recipient file gets
// an error naming the cause and the fix.
func TestRecipientFileErrors(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	noPass := []string{"--passphrase", "", "--pinentry-mode", "loopback"}
	g.Run(nil, append(noPass, "--quick-gen-key", "sign-only@example.org", "ed25519", "cert,sign", "never")...)
	signOnly := filepath.Join(t.TempDir(), "sign-only.asc")
	if err := os.WriteFile(signOnly, g.Run(nil, "--armor", "--export", "sign-only@example.org"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.GenerateSoftware("two@example.org", "ed25519", "cv25519")
	two := filepath.Join(t.TempDir(), "two.asc")
	if err := os.WriteFile(two, g.Run(nil, "--armor", "--export"), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(t.TempDir(), "junk.asc")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A secret key exported by mistake.
	g3 := cardtest.NewGnuPG(t, false)
	g3.GenerateSoftware("secret@example.org", "ed25519", "cv25519")
	fpr := g3.Fingerprint("secret@example.org")
	secret := write("secret.asc", g3.Run(nil, append(noPass, "--armor", "--export-secret-keys", "secret@example.org")...))
	// A key whose encryption subkey expired: made a year ago for a day.
	g4 := cardtest.NewGnuPG(t, false)
	past := []string{"--faked-system-time", "20240101T000000"}
	g4.Run(nil, append(append(noPass, past...), "--quick-gen-key", "old@example.org", "ed25519", "cert,sign", "never")...)
	oldFpr := g4.Fingerprint("old@example.org")
	g4.Run(nil, append(append(noPass, past...), "--quick-add-key", oldFpr, "cv25519", "encr", "1d")...)
	expired := write("expired.asc", g4.Run(nil, "--armor", "--export", "old@example.org"))
	// A DSA key with an ElGamal encryption subkey, as old GnuPG made.
	g5 := cardtest.NewGnuPG(t, false)
	g5.Run(nil, append(noPass, "--quick-gen-key", "elg@example.org", "dsa2048", "cert,sign", "never")...)
	g5.Run(nil, append(noPass, "--quick-add-key", g5.Fingerprint("elg@example.org"), "elg2048", "encr", "never")...)
	elg := write("elg.asc", g5.Run(nil, "--armor", "--export", "elg@example.org"))
	for _, tc := range []struct{ path, want string }{
		{secret, "secret key, which share must not have; give the public key only: gpg --export --armor " + fpr},
		{expired, "has expired; its owner can extend it with gpg --quick-set-expire " + oldFpr + " 1y '*'"},
		{elg, "is ElGamal, which share does not encrypt to"},
		{filepath.Join(t.TempDir(), "missing.asc"), "gpg --export --armor"},
		{signOnly, "--quick-add-key"},
		{two, "holds 2 keys"},
		{junk, "not an OpenPGP public key"},
	} {
		_, err := LoadRecipientFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("LoadRecipientFile(%s) = %v; want one line with %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// TestRecipientNamesItsOwner: a key file gives the primary fingerprint
// gpg --list-keys shows and the user ID, for the banner and the page.
func TestRecipientNamesItsOwner(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	k, err := LoadRecipientFile(g.GenerateSoftware("Ada <ada@example.org>", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	if want := g.Fingerprint("ada@example.org"); k.PrimaryFingerprint() != want || k.UserID != "Ada <ada@example.org>" {
		t.Errorf("primary %s %q, want %s and the user ID", k.PrimaryFingerprint(), k.UserID, want)
	}
	if k.Fingerprint() == k.PrimaryFingerprint() {
		t.Error("the encryption subkey's fingerprint is the primary's")
	}
}
