package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/cardtest"
)

// TestEncryptionSaidOnBannerAndPage: with --recipient, the banner and the
// page say whom downloads are encrypted to (user ID and the primary
// fingerprint gpg --list-keys shows), and the page's decrypt command
// gives back the file.
func TestEncryptionSaidOnBannerAndPage(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key := g.GenerateSoftware("Ada <ada@example.org>", "ed25519", "cv25519")
	primary := g.Fingerprint("ada@example.org")
	dir := shareFolder(t)
	r := startShare(t, nil, "--no-ftp", "--http", "127.0.0.1:0", "--recipient", key, dir)
	wantLine := "Encrypted to Ada <ada@example.org>, key " + primary
	if !strings.Contains(strings.Join(strings.Fields(r.banner), " "), wantLine) {
		t.Errorf("banner lacks %q:\n%s", wantLine, r.banner)
	}
	page := get(t, r.url)
	for _, want := range []string{"Every download here is encrypted", "Ada &lt;ada@example.org&gt;, key " + primary, "gpg --decrypt-files NAME.gpg"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The page's command, as a coworker would run it.
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "hello.txt.gpg"), []byte(get(t, r.url+"hello.txt.gpg")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gpg", "--batch", "--decrypt-files", "hello.txt.gpg")
	cmd.Dir, cmd.Env = work, g.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg --decrypt-files: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(work, "hello.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("decrypted %q, %v", b, err)
	}
}
