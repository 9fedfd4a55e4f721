package httpshare

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"example.com/share/cardcrypt"
	"example.com/share/internal/cardtest"
)

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

// softwareEncryptor encrypts to a key made for the test, whose secret
// part g holds.
func softwareEncryptor(t testing.TB) (*cardcrypt.Encryptor, *cardtest.GnuPG) {
	t.Helper()
	g := cardtest.NewGnuPG(t, false)
	key, err := cardcrypt.LoadRecipientFile(g.GenerateSoftware("share@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cardcrypt.NewEncryptor([]*cardcrypt.Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	return enc, g
}

// TestEncryptedDownloads: behind cardcrypt's encrypting view, files and
// folder archives leave only as OpenPGP messages that GnuPG decrypts to
// the original bytes; nothing plain is offered.
func TestEncryptedDownloads(t *testing.T) {
	enc, g := softwareEncryptor(t)
	plain := shareView(t, fixture.dir, false)
	encView := enc.View(plain)

	t.Run("files", func(t *testing.T) {
		ts := startServer(t, encView, nil)
		resp, body := doRequest(t, "GET", ts.URL+"/sub%20dir/inner.txt.gpg")
		if resp.StatusCode != 200 || resp.Header.Get("Accept-Ranges") != "bytes" || resp.ContentLength != int64(len(body)) {
			t.Fatalf("%d, ranges %q, length %d of %d", resp.StatusCode, resp.Header.Get("Accept-Ranges"), resp.ContentLength, len(body))
		}
		if got := g.Run(body, "--decrypt"); string(got) != "inner\n" {
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
		files := unzipAll(t, g.Run(body, "--decrypt"))
		if string(files["sub dir/inner.txt"]) != "inner\n" {
			t.Errorf("archive holds %q", files)
		}
		if bytes.Contains(body, []byte("inner")) {
			t.Error("the encrypted archive shows a plain name")
		}
		resp, body = doRequest(t, "GET", ts.URL+"/sub%20dir/?sha256")
		if resp.Header.Get("Content-Disposition") != `attachment; filename="SHA256SUMS.gpg"` {
			t.Errorf("sums: %v", resp.Header)
		}
		if sums := string(g.Run(body, "--decrypt")); !strings.Contains(sums, "  inner.txt\n") {
			t.Errorf("decrypted sums %q", sums)
		}
		if bytes.Contains(body, []byte("inner.txt")) {
			t.Error("encrypted sums hold a plain name")
		}
	})
}
