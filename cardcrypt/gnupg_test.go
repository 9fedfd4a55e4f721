package cardcrypt

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// gnupg is a private GnuPG home for one test.
type gnupg struct {
	t    testing.TB
	home string
}

// newGnuPG makes an empty GnuPG home in a short temporary folder (agent
// socket paths are limited in length) and kills its daemons at the end.
func newGnuPG(t testing.TB) *gnupg {
	t.Helper()
	testutil.NeedTool(t, "gpg")
	testutil.NeedTool(t, "gpgconf")
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gnupg{t: t, home: home}
	t.Cleanup(func() {
		g.kill()
		os.RemoveAll(home)
	})
	return g
}

func (g *gnupg) kill() {
	cmd := exec.Command("gpgconf", "--kill", "all")
	cmd.Env = g.env()
	cmd.Run()
}

func (g *gnupg) env() []string {
	return append(os.Environ(), "GNUPGHOME="+g.home, "LC_ALL=C")
}

// run runs gpg with stdin and returns stdout; it fails the test on error.
func (g *gnupg) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, err := g.try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// try runs gpg with stdin and returns stdout, with stderr in the error.
func (g *gnupg) try(stdin []byte, args ...string) ([]byte, error) {
	base := []string{"--batch", "--no-tty", "--trust-model", "always"}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Env = g.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.Bytes(), &gpgError{err: err, stderr: stderr.String()}
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		return nil, &gpgError{err: os.ErrDeadlineExceeded, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type gpgError struct {
	err    error
	stderr string
}

func (e *gpgError) Error() string { return e.err.Error() + ": " + e.stderr }

// generate makes a software key without passphrase, a primary key of
// algorithm sign and an encryption subkey of algorithm encr, and returns
// the path of its exported public key.
func (g *gnupg) generate(uid, sign, encr string) string {
	g.t.Helper()
	noPass := []string{"--passphrase", "", "--pinentry-mode", "loopback"}
	g.run(nil, append(noPass, "--quick-gen-key", uid, sign, "cert,sign", "never")...)
	fpr := g.fingerprint(uid)
	g.run(nil, append(noPass, "--quick-add-key", fpr, encr, "encr", "never")...)
	path := filepath.Join(g.t.TempDir(), "key.asc")
	pub := g.run(nil, "--armor", "--export", uid)
	if err := os.WriteFile(path, pub, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return path
}

// decrypt decrypts a message with the keys of this home.
func (g *gnupg) decrypt(msg []byte) []byte {
	g.t.Helper()
	return g.run(msg, "--decrypt")
}

// fingerprint is the primary key fingerprint of a user ID.
func (g *gnupg) fingerprint(uid string) string {
	g.t.Helper()
	out := g.run(nil, "--with-colons", "--list-keys", uid)
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s in %s", uid, out)
	return ""
}
