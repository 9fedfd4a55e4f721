package bench

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// tlsPeers are two share processes over the same folder, one plain and
// one with --tls, for BenchmarkTLS.
type tlsPeers struct {
	tmp        string
	plain, tls *server
	tlsClient  func() *http.Client
}

func startTLSPeers(bin string) (*tlsPeers, error) {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	tmp, err := os.MkdirTemp(base, "share-bench-tls-")
	if err != nil {
		return nil, err
	}
	p := &tlsPeers{tmp: tmp}
	dir := filepath.Join(tmp, "data")
	if err := makeTLSFixtures(dir); err != nil {
		p.close()
		return nil, err
	}
	if p.plain, err = startShareArgs(bin, dir, tmp, "plain", http.DefaultClient, "http"); err != nil {
		p.close()
		return nil, err
	}
	// The kept certificate goes to tmp/share: the config folder is tmp.
	cfg := filepath.Join(tmp, "config")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		p.close()
		return nil, err
	}
	p.tlsClient = func() *http.Client { return tlsClient(filepath.Join(cfg, "share", "tls-cert.pem")) }
	if p.tls, err = startShareArgs(bin, dir, tmp, "tls", nil, "https", "--tls"); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// makeTLSFixtures writes 4k.bin and 512m.bin, as makeFixtures does.
func makeTLSFixtures(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	small := make([]byte, smallSize)
	rand.Read(small)
	if err := os.WriteFile(filepath.Join(dir, "4k.bin"), small, 0o644); err != nil {
		return err
	}
	return writeRandom(filepath.Join(dir, "512m.bin"), hugeSize)
}

// startShareArgs starts share over dir with extra args; with c nil it
// waits for the kept certificate and asks over TLS.
func startShareArgs(bin, dir, tmp, name string, c *http.Client, scheme string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(tmp, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := filepath.Join(tmp, "config")
	args := append([]string{"--http", addr, "--no-ftp", "--quiet"}, extra...)
	cmd := exec.Command(bin, append(args, dir)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+cfg, "HOME="+cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if c == nil {
		c = tlsClient(filepath.Join(cfg, "share", "tls-cert.pem"))
	}
	return launchWith(c, "share-"+name, scheme+"://"+addr, cmd, syscall.SIGTERM, logPath)
}

// tlsClient trusts the certificate in certFile, read when the first
// connection is made (share makes it when it starts).
func tlsClient(certFile string) *http.Client {
	tr := client().Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{
		InsecureSkipVerify: true, // checked below against the kept certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			pool := x509.NewCertPool()
			pem, err := os.ReadFile(certFile)
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("no certificate in %s: %v", certFile, err)
			}
			_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: pool})
			return err
		},
	}
	tr.IdleConnTimeout = 30 * time.Second
	return &http.Client{Transport: tr}
}

func (p *tlsPeers) close() {
	for _, s := range []*server{p.plain, p.tls} {
		if s != nil {
			s.stop()
		}
	}
	os.RemoveAll(p.tmp)
}

// BenchmarkTLS compares HTTPS with HTTP in the same run, over the same
// files: the 4 KiB request rate (HTTP/1.1 keep-alive, 50 connections)
// and one 512 MiB download at a time. HTTPS sends with Go's crypto, so
// no sendfile.
func BenchmarkTLS(b *testing.B) {
	p, err := startTLSPeers(testutil.BuildShare(b))
	if err != nil {
		b.Fatalf("bench set-up: %v", err)
	}
	defer p.close()
	peers := []struct {
		name string
		s    *server
		c    func() *http.Client
	}{{"http", p.plain, client}, {"https", p.tls, p.tlsClient}}
	for _, peer := range peers {
		b.Run("4k/"+peer.name, func(b *testing.B) { requestRateWith(b, peer.c(), peer.s.base+"/4k.bin") })
	}
	for _, peer := range peers {
		b.Run("512m/"+peer.name, func(b *testing.B) {
			c := peer.c()
			defer c.CloseIdleConnections()
			b.SetBytes(hugeSize)
			for b.Loop() {
				n, err := get(c, peer.s.base+"/512m.bin")
				if err != nil || n != hugeSize {
					b.Fatalf("GET 512m.bin: %d bytes, %v", n, err)
				}
			}
		})
	}
}
