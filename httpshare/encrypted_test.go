package httpshare

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/cardcrypt"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// gpgHome is a private GnuPG home with one key pair (ed25519 with a
// cv25519 encryption subkey, no passphrase); it returns the home and the
// path of the exported public key.
func gpgHome(t *testing.T) (string, string) {
	t.Helper()
	testutil.NeedTool(t, "gpg")
	testutil.NeedTool(t, "gpgconf")
	// Short path: the agent's socket path is limited in length.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "all")
		kill.Env = gpgEnv(home)
		_ = kill.Run()
		os.RemoveAll(home)
	})
	uid := "share test <share@example.org>"
	noPass := []string{"--passphrase", "", "--pinentry-mode", "loopback"}
	gpg(t, home, nil, append(noPass, "--quick-gen-key", uid, "ed25519", "cert,sign", "never")...)
	var fpr string
	for line := range strings.SplitSeq(string(gpg(t, home, nil, "--with-colons", "--list-keys", uid)), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 && fpr == "" {
			fpr = f[9]
		}
	}
	gpg(t, home, nil, append(noPass, "--quick-add-key", fpr, "cv25519", "encr", "never")...)
	pub := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(pub, gpg(t, home, nil, "--armor", "--export", uid), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, pub
}

func gpgEnv(home string) []string {
	return append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
}

// gpg runs gpg in home with stdin and returns its output.
func gpg(t *testing.T, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--quiet"}, args...)...)
	cmd.Env = gpgEnv(home)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// plainEncView is an encrypting view that also gives the plain view it
// encrypts (the plainSource a server may use for whole-folder archives).
type plainEncView struct {
	sharefs.View
	enc   *cardcrypt.Encryptor
	plain sharefs.View
}

func (v plainEncView) Suffix() string { return v.enc.Suffix() }
func (v plainEncView) EncryptTo(w io.Writer, name string, size int64) (io.WriteCloser, error) {
	return v.enc.EncryptTo(w, name, size)
}
func (v plainEncView) Plain() sharefs.View { return v.plain }

// unzipAll reads every file of a zip archive.
func unzipAll(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// TestEncryptedDownloads: behind cardcrypt's encrypting view, files and
// folder archives leave only as OpenPGP messages that GnuPG decrypts to
// the original bytes; nothing plain is offered.
func TestEncryptedDownloads(t *testing.T) {
	home, pub := gpgHome(t)
	key, err := cardcrypt.LoadRecipientFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cardcrypt.NewEncryptor([]*cardcrypt.Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	plain := shareView(t, fixture.dir, false)
	encView := enc.View(plain)

	t.Run("files", func(t *testing.T) {
		ts := startServer(t, encView, nil)
		resp, body := doRequest(t, "GET", ts.URL+"/sub%20dir/inner.txt.gpg")
		if resp.StatusCode != 200 || resp.Header.Get("Accept-Ranges") != "" || resp.ContentLength != int64(len(body)) {
			t.Fatalf("%d, ranges %q, length %d of %d", resp.StatusCode, resp.Header.Get("Accept-Ranges"), resp.ContentLength, len(body))
		}
		if got := gpg(t, home, body, "--decrypt"); string(got) != "inner\n" {
			t.Errorf("decrypted %q", got)
		}
		if r, _ := doRequest(t, "GET", ts.URL+"/sub%20dir/inner.txt"); r.StatusCode != 404 {
			t.Errorf("plain file: %d", r.StatusCode)
		}
		_, page := doRequest(t, "GET", ts.URL+"/sub%20dir/")
		if !strings.Contains(string(page), `href="inner.txt.gpg"`) || strings.Contains(string(page), `href="inner.txt"`) {
			t.Error("listing of the encrypted view is wrong")
		}
		// The archive is one message holding the plain files.
		resp, body = doRequest(t, "GET", ts.URL+"/sub%20dir/?zip")
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="sub dir.zip.gpg"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		files := unzipAll(t, gpg(t, home, body, "--decrypt"))
		if string(files["sub dir/inner.txt"]) != "inner\n" {
			t.Errorf("archive holds %q", files)
		}
		if bytes.Contains(body, []byte("inner")) {
			t.Error("the encrypted archive shows a plain name")
		}
	})

	t.Run("plain source", func(t *testing.T) {
		ts := startServer(t, plainEncView{View: encView, enc: enc, plain: plain}, nil)
		_, body := doRequest(t, "GET", ts.URL+"/sub%20dir/?zip")
		files := unzipAll(t, gpg(t, home, body, "--decrypt"))
		if string(files["sub dir/inner.txt"]) != "inner\n" || string(files["sub dir/deeper/x.txt"]) != "deeper\n" {
			t.Errorf("archive of the plain files holds %q", files)
		}
		resp, body := doRequest(t, "GET", ts.URL+"/sub%20dir/?sha256")
		if resp.Header.Get("Content-Disposition") != `attachment; filename="SHA256SUMS.gpg"` {
			t.Errorf("sums: %v", resp.Header)
		}
		if sums := string(gpg(t, home, body, "--decrypt")); !strings.Contains(sums, "  inner.txt\n") {
			t.Errorf("decrypted sums %q", sums)
		}
		if bytes.Contains(body, []byte("inner.txt")) {
			t.Error("encrypted sums hold a plain name")
		}
	})
}
