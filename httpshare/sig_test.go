package httpshare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"example.com/share/cardcrypt"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// digestSigner stands in for the card in tests of the HTTP side: its
// "signature" names the SHA-256 of exactly the bytes it was given, so a
// test can tell what was signed. The card itself is tested through
// pcscd in cardcrypt and in share's end-to-end tests.
type digestSigner struct {
	err   error // returned instead of a signature when set
	calls atomic.Int32
}

func (d *digestSigner) Sign(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error) ([]byte, error) {
	d.calls.Add(1)
	if d.err != nil {
		return nil, d.err
	}
	h := sha256.New()
	if err := content(h); err != nil {
		return nil, err
	}
	return []byte("SIG " + hex.EncodeToString(h.Sum(nil))), nil
}

func (d *digestSigner) SignFile(ctx context.Context, client netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error) {
	e, err := view.Stat(name)
	if err != nil || e.IsDir {
		return nil, e, cmpOrNotExist(err)
	}
	sig, err := d.Sign(ctx, client, name, func(w io.Writer) error {
		f, err := view.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, cancelableReader{ctx, f})
		return err
	})
	return sig, e, err
}

func cmpOrNotExist(err error) error {
	if err != nil {
		return err
	}
	return os.ErrNotExist
}

func (d *digestSigner) Certificate() []byte { return []byte("CERT") }
func (d *digestSigner) Fingerprint() string { return "0123456789ABCDEF0123456789ABCDEF01234567" }
func (d *digestSigner) Suffix() string      { return ".sig" }

func startSigning(t *testing.T, signer Signer) (string, string) {
	t.Helper()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte("beta\n"), 0o644)
	s := New(shareView(t, dir, false), Options{Logger: slog.New(slog.DiscardHandler), Hosts: testHosts, Signer: signer})
	return "http://" + testutil.Serve(t, s, "127.0.0.1"), dir
}

func sigOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "SIG " + hex.EncodeToString(sum[:])
}

// TestSignatureRoutes: ?sig signs the file's bytes, ?sha256&sig exactly
// what ?sha256 gives, ?pubkey gives the certificate; the page links them.
func TestSignatureRoutes(t *testing.T) {
	base, _ := startSigning(t, &digestSigner{})
	resp, body := doRequest(t, "GET", base+"/sub/b.txt?sig")
	if resp.StatusCode != 200 || string(body) != sigOf([]byte("beta\n")) {
		t.Errorf("b.txt?sig: %d %q", resp.StatusCode, body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="b.txt.sig"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	for _, dir := range []string{"/", "/sub/"} {
		_, sums := doRequest(t, "GET", base+dir+"?sha256")
		_, sig := doRequest(t, "GET", base+dir+"?sha256&sig")
		if string(sig) != sigOf(sums) {
			t.Errorf("%s?sha256&sig covers other bytes than ?sha256 (%q)", dir, sums)
		}
	}
	if _, body := doRequest(t, "GET", base+"/?pubkey"); string(body) != "CERT" {
		t.Errorf("?pubkey: %q", body)
	}
	_, page := doRequest(t, "GET", base+"/")
	for _, want := range []string{`a.txt?sig`, "0123 4567 89AB", "?sha256&amp;sig", "gpg --verify FILE.sig FILE"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, u := range []string{"/missing.txt?sig", "/sub?sig", "/a.txt/?sig", "/../etc/passwd?sig"} {
		if resp, _ := doRequest(t, "GET", base+u); resp.StatusCode != 404 && resp.StatusCode != 301 {
			t.Errorf("%s: %d, want 404 (or the folder redirect)", u, resp.StatusCode)
		}
	}
}

// TestSignatureRefusals: a full queue and a missing card answer 503 with
// Retry-After; the files themselves are still served.
func TestSignatureRefusals(t *testing.T) {
	for _, err := range []error{cardcrypt.ErrSignBusy, cardcrypt.ErrSignUnavailable} {
		base, _ := startSigning(t, &digestSigner{err: err})
		resp, _ := doRequest(t, "GET", base+"/a.txt?sig")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%v: %d, Retry-After %q", err, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// A browser gets the page's style and a way back to the folder.
		resp, page := doRequest(t, "GET", base+"/a.txt?sig", "Accept", "text/html")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(page), `<a href="/">Go to /</a>`) {
			t.Errorf("%v for a browser: %d %.300s", err, resp.StatusCode, page)
		}
		if resp, body := doRequest(t, "GET", base+"/a.txt"); resp.StatusCode != 200 || string(body) != "alpha\n" {
			t.Errorf("%v: the file itself: %d", err, resp.StatusCode)
		}
	}
}

// TestNoSigningWithoutSigner: without a signer nothing is signed and the
// page offers no signatures.
func TestNoSigningWithoutSigner(t *testing.T) {
	base, _ := startSigning(t, nil)
	if resp, body := doRequest(t, "GET", base+"/a.txt?sig"); resp.StatusCode != 200 || string(body) != "alpha\n" {
		t.Errorf("a.txt?sig without signing: %d %q", resp.StatusCode, body)
	}
	if _, page := doRequest(t, "GET", base+"/"); strings.Contains(string(page), "?sig") {
		t.Error("page offers signatures without a signer")
	}
}

// TestSignatureUnderSecret: with --secret the signatures live under the
// token like everything else, and the page's key link carries it.
func TestSignatureUnderSecret(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha\n"), 0o644)
	s := New(shareView(t, dir, false), Options{Logger: slog.New(slog.DiscardHandler), Hosts: testHosts, Signer: &digestSigner{}, Secret: "tok3n"})
	base := "http://" + testutil.Serve(t, s, "127.0.0.1")
	if resp, body := doRequest(t, "GET", base+"/tok3n/a.txt?sig"); resp.StatusCode != 200 || string(body) != sigOf([]byte("alpha\n")) {
		t.Errorf("/tok3n/a.txt?sig: %d %q", resp.StatusCode, body)
	}
	if resp, _ := doRequest(t, "GET", base+"/a.txt?sig"); resp.StatusCode != 404 {
		t.Errorf("a signature without the token: %d, want 404", resp.StatusCode)
	}
	if _, page := doRequest(t, "GET", base+"/tok3n/"); !strings.Contains(string(page), `href="/tok3n/?pubkey"`) {
		t.Error("the page's key link lacks the token")
	}
}
