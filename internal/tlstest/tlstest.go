// Package tlstest makes TLS certificates for tests.
package tlstest

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"

	"example.com/share/internal/tlscert"
)

// LoopbackCert makes share's kept certificate for localhost, 127.0.0.1
// and ::1 in a temporary folder, and writes it as PEM for the clients'
// CA options (curl --cacert, wget, lftp ssl:ca-file).
func LoopbackCert(t testing.TB) (cert tls.Certificate, pemFile string) {
	t.Helper()
	dir := t.TempDir()
	cert, err := tlscert.Kept(dir, tlscert.Hosts{
		Names: []string{"localhost"},
		IPs:   []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	pemFile = filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	return cert, pemFile
}
