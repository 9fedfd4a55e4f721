package ftpshare

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/internal/tlscert"
	"example.com/share/internal/tlstest"
)

// tlsFixture is a server of the fixture that requires explicit FTPS.
type tlsFixture struct {
	srv      *Server
	addr     string
	port     string
	certFile string // PEM, for the clients' CA options
	roots    *x509.CertPool
}

// startFTPS serves the fixture with explicit FTPS required (and the
// secret, if any), after tune, if given, has adjusted the server.
func startFTPS(t *testing.T, secret string, tune ...func(*Server)) *tlsFixture {
	t.Helper()
	cert, certFile := tlstest.LoopbackCert(t)
	srv, err := New(openView(t), Options{TLS: tlscert.ServerConfig(cert), Secret: secret, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.failDelay = 10 * time.Millisecond
	for _, f := range tune {
		f(srv)
	}
	addr := testutil.Serve(t, srv, "127.0.0.1")
	_, port, _ := net.SplitHostPort(addr)
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return &tlsFixture{srv: srv, addr: addr, port: port, certFile: certFile, roots: roots}
}

// secure sends AUTH TLS and continues the client over TLS.
func (c *client) secure(roots *x509.CertPool) {
	c.t.Helper()
	c.expect(234, "AUTH TLS")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.tp = textproto.NewConn(tc)
}

func TestFTPSRefusesPlainCommands(t *testing.T) {
	f := startFTPS(t, "")
	c := dial(t, f.addr)
	for _, line := range []string{"USER anonymous", "PASS x", "SYST", "PWD", "LIST", "EPSV", "RETR hello.txt", "OPTS UTF8 ON", "PBSZ 0", "PROT P"} {
		if code, msg := c.send(line); code != 530 && code != 534 {
			t.Errorf("%s before AUTH TLS: %d %s, want 530 or 534", line, code, msg)
		}
	}
	if msg := c.expect(211, "FEAT"); !strings.Contains(msg, "AUTH TLS") || !strings.Contains(msg, "PROT") {
		t.Errorf("FEAT lacks AUTH TLS: %q", msg)
	}
	c.expect(200, "NOOP")
	c.expect(214, "HELP")
	c.expect(504, "AUTH SSL")
	c.secure(f.roots)
	c.login()
	c.expect(200, "PBSZ 0")
	c.expect(534, "PROT C")
	c.epsv()
	if code, msg := c.send("RETR hello.txt"); code != 521 {
		t.Errorf("RETR before PROT P: %d %s, want 521", code, msg)
	}
	c.expect(200, "PROT P")
	data := dialData(t, c.epsv())
	c.expect(150, "RETR hello.txt")
	tc := tls.Client(data, &tls.Config{RootCAs: f.roots, ServerName: "localhost"})
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	var got bytes.Buffer
	if _, err := got.ReadFrom(tc); err != nil {
		t.Fatalf("read TLS data: %v", err)
	}
	c.expect(226, "")
	if !bytes.Equal(got.Bytes(), visibleFiles["hello.txt"]) {
		t.Errorf("RETR over TLS: %q", got.Bytes())
	}
	// A plain data connection after PROT P gets nothing.
	plain := dialData(t, c.epsv())
	c.send("RETR hello.txt")
	_ = plain.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = plain.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	var leaked bytes.Buffer
	_, _ = leaked.ReadFrom(plain)
	if bytes.Contains(leaked.Bytes(), visibleFiles["hello.txt"]) {
		t.Error("a plain data connection got the file after PROT P")
	}
}

// TestFTPSInjectedCommandsAfterAuth: plain text sent behind AUTH TLS must
// not pass for commands sent over TLS.
func TestFTPSInjectedCommandsAfterAuth(t *testing.T) {
	f := startFTPS(t, "")
	c := dial(t, f.addr)
	if err := c.tp.PrintfLine("AUTH TLS\r\nUSER anonymous"); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.read(); code == 234 {
		t.Error("AUTH TLS with commands queued behind it was accepted")
	}
}

func TestFTPSCurl(t *testing.T) {
	testutil.NeedTool(t, "curl")
	f := startFTPS(t, "")
	for _, host := range []string{"localhost", "127.0.0.1"} {
		base := "ftp://" + net.JoinHostPort(host, f.port) + "/"
		got, err := curl(t, "--ssl-reqd", "--cacert", f.certFile, base+"big.bin")
		if err != nil {
			t.Fatalf("curl --ssl-reqd %s: %v", base, err)
		}
		if !bytes.Equal(got, visibleFiles["big.bin"]) {
			t.Errorf("curl --ssl-reqd big.bin: %d bytes, want %d", len(got), len(visibleFiles["big.bin"]))
		}
		list, err := curl(t, "--ssl-reqd", "--cacert", f.certFile, "--disable-epsv", base)
		if err != nil || !bytes.Contains(list, []byte("hello.txt")) {
			t.Errorf("curl listing over PASV: %v %q", err, list)
		}
	}
	// Plain FTP gets nothing.
	if got, err := curl(t, "ftp://"+f.addr+"/hello.txt"); err == nil {
		t.Errorf("plain curl got %q", got)
	}
}

func TestFTPSLftpMirror(t *testing.T) {
	testutil.NeedTool(t, "lftp")
	f := startFTPS(t, "")
	dest := filepath.Join(t.TempDir(), "mirror")
	script := strings.Join([]string{
		"set net:timeout 10", "set net:max-retries 2", "set net:reconnect-interval-base 1",
		"set cmd:fail-exit yes", "set ftp:ssl-force true", "set ftp:ssl-protect-data true",
		"set ftp:ssl-protect-list true", "set ssl:verify-certificate yes", "set ssl:check-hostname yes",
		"set ssl:ca-file " + f.certFile,
		"open -u anonymous,test@ -p " + f.port + " localhost",
		"mirror --exclude-glob huge.bin / " + dest,
	}, "; ")
	if _, err := run(t, "lftp", "-c", script); err != nil {
		t.Fatalf("lftp mirror over FTPS: %v", err)
	}
	got := readTree(t, dest)
	for name, data := range visibleFiles {
		if g, ok := got[name]; !ok || !bytes.Equal(g, data) {
			t.Errorf("mirror of %q: present %v, %d bytes, want %d", name, ok, len(g), len(data))
		}
	}
	if len(got) != len(visibleFiles) {
		t.Errorf("mirror has %d files, want %d", len(got), len(visibleFiles))
	}
}

// ftpsScript uses Python's ftplib.FTP_TLS, which does not reuse the TLS
// session on data connections.
const ftpsScript = `
import ftplib, json, ssl, sys, hashlib
host, port, cafile, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=cafile)
f = ftplib.FTP_TLS(context=ctx, timeout=10)
f.connect(host, port)
f.login(user, pw)
out = {}
try:
    f.prot_c()
    out["prot_c"] = "accepted"
except ftplib.error_perm as e:
    out["prot_c"] = str(e)[:3]
f.prot_p()
out["names"] = sorted(name for name, facts in f.mlsd("/"))
parts = []
f.retrbinary("RETR big.bin", parts.append)
out["sha"] = hashlib.sha256(b"".join(parts)).hexdigest()
parts = []
f.retrbinary("RETR big.bin", parts.append, rest=1000)
out["rest_sha"] = hashlib.sha256(b"".join(parts)).hexdigest()
f.quit()
print(json.dumps(out))
`

func TestFTPSPythonFtplib(t *testing.T) {
	testutil.NeedTool(t, "python3")
	f := startFTPS(t, "")
	out, err := run(t, "python3", "-c", ftpsScript, "localhost", f.port, f.certFile, "anonymous", "x@")
	if err != nil {
		t.Fatalf("ftplib FTP_TLS: %v", err)
	}
	var got struct {
		ProtC   string   `json:"prot_c"`
		Names   []string `json:"names"`
		SHA     string   `json:"sha"`
		RestSHA string   `json:"rest_sha"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if got.ProtC != "534" {
		t.Errorf("PROT C: %q, want 534", got.ProtC)
	}
	if got.SHA != sha256Hex(visibleFiles["big.bin"]) || got.RestSHA != sha256Hex(visibleFiles["big.bin"][1000:]) {
		t.Error("RETR over TLS sent the wrong bytes")
	}
	if len(got.Names) == 0 {
		t.Error("MLSD over TLS listed nothing")
	}
}

func TestSecretFTP(t *testing.T) {
	const token = "s3cret-Token_for-the-test-000000"
	f := startFTPS(t, token)
	login := func(c *client, user, pass string) (int, string) {
		c.t.Helper()
		c.expect(331, "USER "+user)
		return c.send("PASS " + pass)
	}
	c := dial(t, f.addr)
	c.secure(f.roots)
	if code, _ := c.send("USER anonymous"); code != 530 {
		t.Errorf("anonymous with a secret: %d, want 530", code)
	}
	if code, _ := login(c, "ada", "wrong"); code != 530 {
		t.Errorf("wrong password: %d, want 530", code)
	}
	if code, _ := login(c, "ada", token); code != 230 {
		t.Errorf("the token as password: %d, want 230", code)
	}
	// curl with the token in the URL, as the banner shows it.
	if testutil.NeedTool(t, "curl") != "" {
		got, err := curl(t, "--ssl-reqd", "--cacert", f.certFile, "ftp://share:"+token+"@localhost:"+f.port+"/hello.txt")
		if err != nil || !bytes.Equal(got, visibleFiles["hello.txt"]) {
			t.Errorf("curl with the token: %v %q", err, got)
		}
	}
	// A wrong password waits for its 530.
	slow := startFTPS(t, token, func(s *Server) { s.failDelay = 300 * time.Millisecond })
	sc := dial(t, slow.addr)
	sc.secure(slow.roots)
	began := time.Now()
	if code, _ := login(sc, "ada", "wrong"); code != 530 {
		t.Errorf("wrong password: %d, want 530", code)
	}
	if waited := time.Since(began); waited < 300*time.Millisecond {
		t.Errorf("a wrong password was answered after %v, want at least 300ms", waited)
	}
	// Ten failures lock the client out for a minute, token or not.
	bad := dial(t, f.addr)
	bad.secure(f.roots)
	for i := range maxFailures {
		if code, _ := login(bad, "x", "guess"+string(rune('a'+i))); code != 530 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	bad.expect(331, "USER x")
	if code, msg := bad.send("PASS " + token); code != 530 || !strings.Contains(msg, "try again") {
		t.Errorf("after %d failures: %d %q, want the lock-out", maxFailures, code, msg)
	}
	if !f.srv.guard.lockedOut(clientKey(c.conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()), time.Now()) {
		t.Error("the guard does not hold the lock-out")
	}
	if f.srv.guard.lockedOut(clientKey(c.conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()), time.Now().Add(lockout)) {
		t.Error("the lock-out lasts over a minute")
	}
}

func TestLoginGuardLocksOutForAMinute(t *testing.T) {
	g := newLoginGuard()
	key := netip.MustParseAddr("192.0.2.7")
	t0 := time.Now()
	for i := range maxFailures - 1 {
		g.fail(key, t0.Add(time.Duration(i)*time.Second))
	}
	if g.lockedOut(key, t0.Add(50*time.Second)) {
		t.Fatal("locked out after 9 failures")
	}
	// The tenth failure, late in the first one's minute, locks the
	// client out for a whole minute from then.
	last := t0.Add(55 * time.Second)
	g.fail(key, last)
	for _, d := range []time.Duration{0, 30 * time.Second, lockout - time.Millisecond} {
		if !g.lockedOut(key, last.Add(d)) {
			t.Errorf("not locked out %v after the tenth failure", d)
		}
	}
	if g.lockedOut(key, last.Add(lockout)) {
		t.Error("still locked out a minute after the tenth failure")
	}
	// Failures spread over more than a minute do not add up.
	g2 := newLoginGuard()
	for i := range maxFailures {
		g2.fail(key, t0.Add(time.Duration(i)*7*time.Second))
	}
	if g2.lockedOut(key, t0.Add(63*time.Second)) {
		t.Error("ten failures over 63 s locked the client out")
	}
}

// TestFTPSHandshakeDeadlines: a client that sends AUTH TLS and then
// stalls in the handshake, or stalls in the handshake of a data
// connection, is dropped when the handshake time passes; the control
// connection goes on after a stalled data handshake. No handshake
// outlasts the login time limit.
func TestFTPSHandshakeDeadlines(t *testing.T) {
	const wait = 500 * time.Millisecond
	f := startFTPS(t, "", func(s *Server) { s.tlsWait = wait })
	halfHello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
	for _, sent := range [][]byte{nil, halfHello} {
		c := dial(t, f.addr)
		c.expect(234, "AUTH TLS")
		began := time.Now()
		_, _ = c.conn.Write(sent)
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c.conn); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("a stalled control handshake (%d bytes sent) was not dropped", len(sent))
		}
		if took := time.Since(began); took > wait+3*time.Second {
			t.Errorf("a stalled control handshake was dropped after %v, want about %v", took, wait)
		}
	}
	c := dial(t, f.addr)
	c.secure(f.roots)
	c.login()
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	data := dialData(t, c.epsv())
	c.expect(150, "RETR hello.txt")
	if code, msg := c.read(); code != 522 {
		t.Errorf("a stalled data handshake: %d %s, want 522", code, msg)
	}
	_ = data.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(data); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("the stalled data connection was not closed")
	}
	c.expect(200, "NOOP")
	// The handshake does not outlast the login time limit.
	late := startFTPS(t, "", func(s *Server) { s.tlsWait, s.loginWait = time.Minute, wait })
	lc := dial(t, late.addr)
	lc.expect(234, "AUTH TLS")
	began := time.Now()
	_ = lc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(lc.conn); errors.Is(err, os.ErrDeadlineExceeded) || time.Since(began) > wait+3*time.Second {
		t.Errorf("a handshake outlasted the login limit: dropped after %v (%v)", time.Since(began), err)
	}
}

// TestFTPSOnlyModernVersions: AUTH TLS takes TLS 1.2 and 1.3, not 1.1.
func TestFTPSOnlyModernVersions(t *testing.T) {
	f := startFTPS(t, "")
	for v, want := range map[uint16]bool{tls.VersionTLS11: false, tls.VersionTLS12: true, tls.VersionTLS13: true} {
		c := dial(t, f.addr)
		c.expect(234, "AUTH TLS")
		tc := tls.Client(c.conn, &tls.Config{RootCAs: f.roots, ServerName: "localhost", MinVersion: v, MaxVersion: v})
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); (err == nil) != want {
			t.Errorf("TLS version %x: handshake error %v, want success %v", v, err, want)
		}
	}
}
