// Package tlscert gives share its TLS certificate: the one a person names
// with --tls-cert/--tls-key, or a self-signed one made on first use and
// kept in the user's configuration folder, so that its fingerprint stays
// the same from run to run. It also prints the fingerprint and the
// public-key pin that people check.
package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names of the kept certificate, in Dir.
const (
	certFile = "tls-cert.pem"
	keyFile  = "tls-key.pem"
)

// Lifetime of a made certificate, and how long before its end a new one
// is made (with the same key, so the pin stays).
const (
	lifetime = 5 * 365 * 24 * time.Hour
	renewal  = 30 * 24 * time.Hour
)

// Hosts are the names and addresses a certificate must cover.
type Hosts struct {
	Names []string
	IPs   []net.IP
}

// Kept returns the self-signed certificate kept in dir, made on first
// use. The key is made once and kept (mode 0600); the certificate is
// made again with the same key when it does not cover hosts or is about
// to expire, so the public-key pin never changes.
func Kept(dir string, hosts Hosts) (tls.Certificate, error) {
	key, err := keptKey(dir)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath := filepath.Join(dir, certFile)
	if der, err := readCertDER(certPath); err == nil {
		if c, err := x509.ParseCertificate(der); err == nil && fits(c, key, hosts) {
			return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, nil
		}
	}
	der, err := selfSigned(key, hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFile(certPath, pemBytes, 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("keep the TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read back the TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// keptKey reads the kept private key, or makes and keeps one.
func keptKey(dir string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(dir, keyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM key; remove it to make a new certificate", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; remove it to make a new certificate", path, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an ECDSA key; remove it to make a new certificate", path)
		}
		return ek, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the TLS key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make a TLS key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the TLS key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make the folder for the TLS key: %w", err)
	}
	if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("keep the TLS key: %w", err)
	}
	return key, nil
}

// writeFile writes through a temporary file and a rename, so a crash
// never leaves half a key.
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readCertDER(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return block.Bytes, nil
}

// fits reports whether a kept certificate still serves: made for key,
// valid for a while yet, and naming every host.
func fits(c *x509.Certificate, key *ecdsa.PrivateKey, hosts Hosts) bool {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) || time.Now().Add(renewal).After(c.NotAfter) {
		return false
	}
	for _, n := range hosts.Names {
		if !slices.Contains(c.DNSNames, strings.ToLower(n)) {
			return false
		}
	}
	for _, ip := range hosts.IPs {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// selfSigned makes a certificate that is its own trust anchor: a CA
// (GnuTLS, as in wget and lftp, trusts only CA certificates given as
// anchors) whose key usages also fit a TLS server.
func selfSigned(key *ecdsa.PrivateKey, hosts Hosts, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	ski, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range hosts.Names {
		if n = strings.ToLower(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	cn := "share"
	if len(names) > 0 {
		cn = "share on " + names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"share (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
		DNSNames:              names,
		IPAddresses:           hosts.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make the TLS certificate: %w", err)
	}
	return der, nil
}

// keyID is the RFC 5280 method 1 key identifier: SHA-1 of the public
// key's bits (for ECDSA, the encoded point).
func keyID(pub *ecdsa.PublicKey) ([]byte, error) {
	pk, err := pub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("encode the public key: %w", err)
	}
	sum := sha1.Sum(pk.Bytes())
	return sum[:], nil
}

// Load reads a certificate chain and its key from PEM files
// (--tls-cert, --tls-key).
func Load(certPath, keyPath string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS certificate %s with key %s: %w", certPath, keyPath, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("TLS certificate %s: %w", certPath, err)
		}
	}
	return cert, nil
}

// Fingerprint is the SHA-256 of a certificate as `openssl x509
// -fingerprint -sha256` prints it: upper-case hex bytes joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b bytes.Buffer
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// SPKIHash is the base64 SHA-256 of a certificate's public key, as
// Chromium's --ignore-certificate-errors-spki-list takes it.
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Pin is the public-key pin in curl's --pinnedpubkey form: sha256//BASE64.
func Pin(c *x509.Certificate) string { return "sha256//" + SPKIHash(c) }

// ServerConfig is the TLS configuration both servers start from: TLS 1.2
// and 1.3 with Go's default cipher suites, and cert.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
}
