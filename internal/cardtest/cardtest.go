// Package cardtest runs the real smartcard stack for tests: pcscd with the
// vsmartcard vpcd driver, the virtual OpenPGP card of testdata/vcard, and
// a private GnuPG home whose scdaemon uses the card. pcscd's socket and the
// vpcd port are machine-wide, so a file lock serializes every test that
// uses the stack, across packages and processes. The stack needs Linux
// and cgo (pcscd, vpcd, PC/SC); the GnuPG home works wherever gpg does.
package cardtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// GnuPG is a private GnuPG home whose scdaemon talks to the stack's
// reader through PC/SC, and whose pinentry answers the card's PINs.
type GnuPG struct {
	t    testing.TB
	Home string
}

// Default PINs of the virtual card.
const (
	UserPIN  = "123456"
	AdminPIN = "12345678"
)

// pinentry answers the Admin PIN when asked for it, else the user PIN.
const pinentry = `#!/bin/sh
echo "OK ready"
desc=""
while read -r cmd rest; do
  case "$cmd" in
    SETDESC|SETPROMPT) desc="$desc $rest"; echo OK;;
    GETPIN)
      case "$desc" in
        *Admin*) echo "D ` + AdminPIN + `";;
        *) echo "D ` + UserPIN + `";;
      esac
      desc=""; echo OK;;
    BYE) echo OK; exit 0;;
    *) echo OK;;
  esac
done
`

// NewGnuPG makes the home; shared selects scdaemon's pcsc-shared mode.
// Its daemons are killed when the test ends.
func NewGnuPG(t testing.TB, shared bool) *GnuPG {
	t.Helper()
	testutil.NeedTool(t, "gpg")
	testutil.NeedTool(t, "gpgconf")
	if _, err := exec.LookPath("/usr/lib/gnupg/scdaemon"); err != nil {
		testutil.NeedTool(t, "scdaemon")
	}
	home, err := os.MkdirTemp("", "gpg") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	g := &GnuPG{t: t, Home: home}
	t.Cleanup(func() {
		g.Kill()
		os.RemoveAll(home)
	})
	os.Chmod(home, 0o700)
	scd := "disable-ccid\n"
	if shared {
		scd += "pcsc-shared\n"
	}
	script := filepath.Join(home, "pinentry.sh")
	files := map[string]string{
		"scdaemon.conf":  scd,
		"gpg-agent.conf": "pinentry-program " + script + "\n",
		"pinentry.sh":    pinentry,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(home, name), []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// Kill stops the home's gpg-agent and scdaemon.
func (g *GnuPG) Kill() {
	cmd := exec.Command("gpgconf", "--kill", "all")
	cmd.Env = g.Env()
	cmd.Run()
}

// Env is the environment for GnuPG programs using this home.
func (g *GnuPG) Env() []string {
	return append(os.Environ(), "GNUPGHOME="+g.Home, "LC_ALL=C")
}

// Run runs gpg in batch mode and returns its stdout, failing the test on error.
func (g *GnuPG) Run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, err := g.Try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// Try runs gpg in batch mode; the error carries gpg's stderr.
func (g *GnuPG) Try(stdin []byte, args ...string) ([]byte, error) {
	base := []string{"--batch", "--no-tty", "--trust-model", "always"}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Env = g.Env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := runBounded(cmd, 2*time.Minute); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func runBounded(cmd *exec.Cmd, limit time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return errors.New("timed out")
	}
}

// Algorithm choices for GenerateOnCard.
const (
	RSA      = "rsa"
	RSA3072  = "rsa3072"
	RSA4096  = "rsa4096"
	Cv25519  = "cv25519"
	NISTP256 = "nistp256"
	NISTP384 = "nistp384"
)

// keyAttr is the --card-edit dialogue that sets all three key algorithms.
var keyAttr = map[string]string{
	RSA3072:  "key-attr\n1\n3072\n1\n3072\n1\n3072\n",
	RSA4096:  "key-attr\n1\n4096\n1\n4096\n1\n4096\n",
	Cv25519:  "key-attr\n2\n1\n2\n1\n2\n1\n",
	NISTP256: "key-attr\n2\n3\n2\n3\n2\n3\n", // NIST curves need --expert
	NISTP384: "key-attr\n2\n4\n2\n4\n2\n4\n",
}

// GenerateOnCard has GnuPG create all three keys on the card (for
// Cv25519: ed25519 signing and authentication, cv25519 encryption; for
// NISTP256 and NISTP384: ECDSA and ECDH on the curve) for
// the user ID "Card Owner <email>", and returns the encryption subkey's
// fingerprint.
func (g *GnuPG) GenerateOnCard(algo, email string) string {
	g.t.Helper()
	var script strings.Builder
	script.WriteString("admin\n")
	script.WriteString(keyAttr[algo])
	script.WriteString("generate\nn\n0\nCard Owner\n" + email + "\n\nquit\n")
	cmd := exec.Command("gpg", "--expert", "--no-tty", "--command-fd", "0", "--status-fd", "1", "--card-edit")
	cmd.Env = g.Env()
	cmd.Stdin = strings.NewReader(script.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runBounded(cmd, 3*time.Minute); err != nil || !strings.Contains(out.String(), "KEY_CREATED") {
		g.t.Fatalf("gpg --card-edit generate: %v\n%s", err, out.String())
	}
	return g.EncryptionFingerprint(email)
}

// SetCardholder writes the cardholder name on the card with gpg
// --card-edit (stored as ISO 7501-1: "surname<<given"), then stops the
// home's daemons so that the card is free.
func (g *GnuPG) SetCardholder(surname, given string) {
	g.t.Helper()
	cmd := exec.Command("gpg", "--no-tty", "--command-fd", "0", "--status-fd", "1", "--card-edit")
	cmd.Env = g.Env()
	cmd.Stdin = strings.NewReader("admin\nname\n" + surname + "\n" + given + "\nquit\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runBounded(cmd, time.Minute); err != nil {
		g.t.Fatalf("gpg --card-edit name: %v\n%s", err, out.String())
	}
	g.Kill()
}

// EncryptionFingerprint is the fingerprint of the key's encryption subkey.
func (g *GnuPG) EncryptionFingerprint(uid string) string {
	g.t.Helper()
	out := g.Run(nil, "--with-colons", "--list-keys", uid)
	sc := bufio.NewScanner(bytes.NewReader(out))
	encSub := false
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		switch {
		case f[0] == "sub" && len(f) > 11:
			encSub = strings.Contains(f[11], "e")
		case f[0] == "fpr" && encSub && len(f) > 9:
			return f[9]
		}
	}
	g.t.Fatalf("no encryption subkey for %s:\n%s", uid, out)
	return ""
}

// Export writes the armored public key of uid to a file and returns its path.
func (g *GnuPG) Export(uid string) string {
	g.t.Helper()
	path := filepath.Join(g.t.TempDir(), "pub.asc")
	if err := os.WriteFile(path, g.Run(nil, "--armor", "--export", uid), 0o600); err != nil {
		g.t.Fatal(err)
	}
	return path
}

// Decrypt decrypts a message (through the card when the key is there).
func (g *GnuPG) Decrypt(msg []byte) ([]byte, error) {
	return g.Try(msg, "--decrypt")
}

// GenerateSoftware makes a key without passphrase in this home: a primary
// key of algorithm sign and an encryption subkey of algorithm encr (gpg's
// names: "ed25519", "cv25519", "rsa2048", ...). It returns the exported
// public key file.
func (g *GnuPG) GenerateSoftware(uid, sign, encr string) string {
	g.t.Helper()
	noPass := []string{"--passphrase", "", "--pinentry-mode", "loopback"}
	g.Run(nil, append(noPass, "--quick-gen-key", uid, sign, "cert,sign", "never")...)
	g.Run(nil, append(noPass, "--quick-add-key", g.Fingerprint(uid), encr, "encr", "never")...)
	return g.Export(uid)
}

// Fingerprint is the primary key fingerprint of a user ID.
func (g *GnuPG) Fingerprint(uid string) string {
	g.t.Helper()
	out := g.Run(nil, "--with-colons", "--list-keys", uid)
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s in %s", uid, out)
	return ""
}

// VerifyDetached has gpg check a detached signature over data and
// returns the fingerprint of the key that made it.
func (g *GnuPG) VerifyDetached(sig, data []byte) (string, error) {
	dir := g.t.TempDir()
	sigPath, dataPath := filepath.Join(dir, "data.sig"), filepath.Join(dir, "data")
	if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(dataPath, data, 0o600); err != nil {
		return "", err
	}
	out, err := g.Try(nil, "--status-fd", "1", "--verify", sigPath, dataPath)
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "VALIDSIG" {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("gpg --verify gave no VALIDSIG:\n%s", out)
}

// SqVerify has Sequoia's sq check a detached signature over data with
// the certificate cert.
func SqVerify(t testing.TB, cert, sig, data []byte) error {
	t.Helper()
	testutil.NeedTool(t, "sq")
	dir := t.TempDir()
	paths := map[string][]byte{"cert.asc": cert, "data.sig": sig, "data": data}
	for name, b := range paths {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	cmd := exec.Command("sq", "verify", "--signer-cert", filepath.Join(dir, "cert.asc"),
		"--detached", filepath.Join(dir, "data.sig"), filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runBounded(cmd, time.Minute); err != nil {
		return fmt.Errorf("sq verify: %w: %s", err, out.String())
	}
	return nil
}
