package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/internal/tlscert"
)

var (
	httpsURL    = regexp.MustCompile(`HTTP\s+(https?://\S+)`)
	fingerprint = regexp.MustCompile(`(?m)^\s+([0-9A-F]{2}(?::[0-9A-F]{2}){31})$`)
	pinLine     = regexp.MustCompile(`--pinnedpubkey\): (sha256//\S+)`)
)

// configEnv keeps share's configuration folder (and so the kept
// certificate) in dir.
func configEnv(dir string) []string {
	return []string{"XDG_CONFIG_HOME=" + dir, "HOME=" + dir}
}

// bannerOf runs share until its banner is out and returns it.
func bannerOf(t *testing.T, env []string, args ...string) (banner, stderr string) {
	t.Helper()
	r := startShare(t, env, args...)
	r.stop(t, syscall.SIGTERM) // how it exits is TestServesAndStopsCleanly's business
	return r.banner, r.stderr.String()
}

func shareCurl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := testutil.NeedTool(t, "curl")
	out, err := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
	return string(out), err
}

func TestTLSCertKeptAcrossRuns(t *testing.T) {
	cfg := t.TempDir()
	dir := shareFolder(t)
	args := []string{"--tls", "--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0", dir}
	first, _ := bannerOf(t, configEnv(cfg), args...)
	second, _ := bannerOf(t, configEnv(cfg), args...)
	fp1, fp2 := fingerprint.FindStringSubmatch(first), fingerprint.FindStringSubmatch(second)
	if fp1 == nil || fp2 == nil {
		t.Fatalf("no fingerprint in the banners:\n%s\n%s", first, second)
	}
	if fp1[1] != fp2[1] {
		t.Errorf("the fingerprint changed between runs: %s, %s", fp1[1], fp2[1])
	}
	st, err := os.Stat(filepath.Join(cfg, "share", "tls-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kept key mode %v, want 0600", st.Mode().Perm())
	}
	// The banner's pin and URL are what curl needs.
	r := startShare(t, configEnv(cfg), args...)
	pin := pinLine.FindStringSubmatch(r.banner)
	u := httpsURL.FindStringSubmatch(r.banner)
	if pin == nil || u == nil || !strings.HasPrefix(u[1], "https://") {
		t.Fatalf("banner without pin or https URL:\n%s", r.banner)
	}
	got, err := shareCurl(t, "-k", "--pinnedpubkey", pin[1], u[1]+"hello.txt")
	if err != nil || got != "hello\n" {
		t.Errorf("curl with the banner's pin: %v %q", err, got)
	}
}

// makeCA makes a CA and a server certificate it signs for localhost, and
// writes the chain (server, CA) and the key as PEM files.
func makeCA(t *testing.T, dir string) (caFile, chainFile, keyFile string, leafDER []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "share test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err = x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	caFile, chainFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem")
	for name, data := range map[string][]byte{
		caFile: block("CERTIFICATE", caDER), chainFile: append(block("CERTIFICATE", leafDER), block("CERTIFICATE", caDER)...),
		keyFile: block("PRIVATE KEY", keyDER),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, chainFile, keyFile, leafDER
}

func TestTLSCertFromFiles(t *testing.T) {
	cfg := t.TempDir()
	caFile, chain, key, leaf := makeCA(t, t.TempDir())
	r := startShare(t, configEnv(cfg), "--tls-cert", chain, "--tls-key", key,
		"--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0", shareFolder(t))
	if !strings.Contains(r.banner, tlscert.Fingerprint(leaf)) {
		t.Errorf("the banner lacks the given certificate's fingerprint:\n%s", r.banner)
	}
	u, err := url.Parse(httpsURL.FindStringSubmatch(r.banner)[1])
	if err != nil {
		t.Fatal(err)
	}
	byName := "https://localhost:" + u.Port() + "/hello.txt"
	if got, err := shareCurl(t, "--cacert", caFile, byName); err != nil || got != "hello\n" {
		t.Errorf("curl --cacert CA %s: %v %q", byName, err, got)
	}
	fu, err := url.Parse(r.ftp)
	if err != nil {
		t.Fatal(err)
	}
	ftps := "ftp://localhost:" + fu.Port() + "/hello.txt"
	if got, err := shareCurl(t, "--ssl-reqd", "--cacert", caFile, ftps); err != nil || got != "hello\n" {
		t.Errorf("curl --ssl-reqd --cacert CA %s: %v %q", ftps, err, got)
	}
	if _, err := os.Stat(filepath.Join(cfg, "share")); err == nil {
		t.Error("a certificate was kept although one was given")
	}
}

func TestSecretBannerAndLog(t *testing.T) {
	cfg := t.TempDir()
	r := startShare(t, configEnv(cfg), "--tls", "--secret", "--mdns", "--log-format", "json",
		"--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0", shareFolder(t))
	u := httpsURL.FindStringSubmatch(r.banner)
	if u == nil {
		t.Fatalf("no https URL:\n%s", r.banner)
	}
	link, err := url.Parse(u[1])
	if err != nil {
		t.Fatal(err)
	}
	token := strings.Trim(link.Path, "/")
	if len(token) < 22 || strings.Contains(token, "/") {
		t.Fatalf("token %q: want at least 128 bits, URL-safe", token)
	}
	if !strings.Contains(r.banner, "mDNS: nothing announced") {
		t.Errorf("the banner does not say mDNS is off:\n%s", r.banner)
	}
	if !strings.Contains(r.ftp, "share:"+token+"@") {
		t.Errorf("FTP URL %q lacks the token as password", r.ftp)
	}
	if got, err := shareCurl(t, "-k", u[1]+"hello.txt"); err != nil || got != "hello\n" {
		t.Errorf("the banner's link: %v %q", err, got)
	}
	if got, _ := shareCurl(t, "-k", "-o", os.DevNull, "-w", "%{http_code}", "https://"+link.Host+"/hello.txt"); got != "404" {
		t.Errorf("without the token: %s, want 404", got)
	}
	if got, err := shareCurl(t, "-k", "--ssl-reqd", r.ftp+"hello.txt"); err != nil || got != "hello\n" {
		t.Errorf("the banner's FTP link: %v %q", err, got)
	}
	r.stop(t, syscall.SIGTERM)
	logs := r.stderr.String()
	if strings.Contains(logs, token) {
		t.Errorf("the token reached the log:\n%s", logs)
	}
	var found bool
	for line := range strings.Lines(logs) {
		var ev struct {
			Msg  string   `json:"msg"`
			URLs []string `json:"urls"`
			Cert string   `json:"cert_sha256"`
			SPKI string   `json:"spki_sha256"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Msg != "listening" {
			continue
		}
		found = true
		if len(ev.URLs) == 0 || !fingerprint.MatchString("  "+ev.Cert) || !strings.HasPrefix(ev.SPKI, "sha256//") {
			t.Errorf("start-up event without URLs, cert_sha256 or spki_sha256: %s", line)
		}
		if !strings.Contains(r.banner, ev.Cert) || !strings.Contains(r.banner, ev.SPKI) {
			t.Errorf("the event's certificate differs from the banner's: %s", line)
		}
	}
	if !found {
		t.Errorf("no start-up event:\n%s", logs)
	}
}

func TestSecretWithoutTLSWarns(t *testing.T) {
	banner, stderr := bannerOf(t, configEnv(t.TempDir()), "--secret", "--http", "127.0.0.1:0", "--no-ftp", shareFolder(t))
	if !strings.Contains(banner, "clear text") || !strings.Contains(stderr, "clear text") {
		t.Errorf("no clear-text warning:\n%s\n%s", banner, stderr)
	}
}

func TestTLSFlagErrors(t *testing.T) {
	dir := shareFolder(t)
	code, _, stderr := runShare(t, configEnv(t.TempDir()), "--tls-cert", "x.pem", dir)
	if code != exitUsage || !strings.Contains(stderr, "--tls-key") {
		t.Errorf("--tls-cert alone: exit %d, %s", code, stderr)
	}
	missing := filepath.Join(t.TempDir(), "none.pem")
	code, _, stderr = runShare(t, configEnv(t.TempDir()), "--tls-cert", missing, "--tls-key", missing, dir)
	if code != exitFailure || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("missing files: exit %d, %q", code, stderr)
	}
}
