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
	for _, tc := range []struct{ path, want string }{
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
