package tlscert

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/testutil"
)

var testHosts = Hosts{
	Names: []string{"ada", "localhost"},
	IPs:   []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
}

func TestKeptIsMadeOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share")
	first, err := Kept(dir, testHosts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	again, err := Kept(dir, testHosts)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(first.Certificate[0]) != Fingerprint(again.Certificate[0]) {
		t.Error("the kept certificate changed between two runs")
	}
	// A new address needs a new certificate, with the same key.
	more := Hosts{Names: testHosts.Names, IPs: append(testHosts.IPs, net.ParseIP("192.0.2.7"))}
	moved, err := Kept(dir, more)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(moved.Certificate[0]) == Fingerprint(first.Certificate[0]) {
		t.Error("a certificate without the new address was kept")
	}
	if Pin(moved.Leaf) != Pin(first.Leaf) {
		t.Error("the pin changed with the certificate; the key must stay")
	}
}

func TestKeptIsItsOwnTrustAnchor(t *testing.T) {
	cert, err := Kept(t.TempDir(), testHosts)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if !leaf.IsCA || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("IsCA %v, key usage %b: want a CA fit for TLS", leaf.IsCA, leaf.KeyUsage)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, host := range []string{"localhost", "ada", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "elsewhere.example", Roots: roots}); err == nil {
		t.Error("the certificate verifies for a name it does not hold")
	}
}

func TestPinIsSHA256OfPublicKey(t *testing.T) {
	cert, err := Kept(t.TempDir(), testHosts)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(cert.Leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if want := "sha256//" + base64.StdEncoding.EncodeToString(sum[:]); Pin(cert.Leaf) != want {
		t.Errorf("Pin = %s, want %s", Pin(cert.Leaf), want)
	}
}

// TestFingerprintAsOpenSSL compares with `openssl x509 -fingerprint -sha256`.
func TestFingerprintAsOpenSSL(t *testing.T) {
	openssl := testutil.NeedTool(t, "openssl")
	dir := t.TempDir()
	cert, err := Kept(dir, testHosts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(dir, certFile)).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, got, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if got != Fingerprint(cert.Certificate[0]) {
		t.Errorf("openssl says %s, Fingerprint %s", got, Fingerprint(cert.Certificate[0]))
	}
}

func TestKeptRefusesABrokenKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, keyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Kept(dir, testHosts); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("err = %v, want one that says what to do", err)
	}
}
