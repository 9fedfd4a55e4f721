package httpshare

import (
	"archive/zip"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"example.com/share/internal/testutil"
	"example.com/share/internal/tlscert"
	"example.com/share/internal/tlstest"
)

// tlsServer is a test server speaking HTTPS with a kept self-signed
// certificate made in a temp dir.
type tlsServer struct {
	*testServer
	cert     tls.Certificate
	certFile string // the certificate in PEM, for --cacert and the like
	port     string
}

// startTLS serves view over HTTPS on 127.0.0.1 (and the secret, if any),
// after tune, if given, has adjusted the server.
func startTLS(t *testing.T, view *sharefsDir, secret string, tune ...func(*Server)) *tlsServer {
	t.Helper()
	cert, certFile := tlstest.LoopbackCert(t)
	logs := &syncBuffer{}
	s := New(view, Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Hosts:  testHosts,
		TLS:    tlscert.ServerConfig(cert),
		Secret: secret,
	})
	for _, f := range tune {
		f(s)
	}
	addr := testutil.Serve(t, s, "127.0.0.1")
	_, port, _ := net.SplitHostPort(addr)
	return &tlsServer{
		testServer: &testServer{Server: s, URL: "https://" + addr, Addr: addr, logs: logs},
		cert:       cert,
		certFile:   certFile,
		port:       port,
	}
}

// curl runs curl with args and returns its output; failures fail the test.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	bin := testutil.NeedTool(t, "curl")
	out, err := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestTLSCurlPinnedAndCA(t *testing.T) {
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	want, err := os.ReadFile(filepath.Join(fixture.dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pin := tlscert.Pin(ts.cert.Leaf)
	// The pin alone (-k: no chain check) is enough...
	if got := curl(t, "-k", "--pinnedpubkey", pin, ts.URL+"/hello.txt"); got != string(want) {
		t.Errorf("pinned: got %q", got)
	}
	// ...and a wrong pin is refused.
	bin := testutil.NeedTool(t, "curl")
	wrong := "sha256//" + strings.Repeat("A", 43) + "="
	if out, err := exec.Command(bin, "-sS", "-k", "--pinnedpubkey", wrong, ts.URL+"/hello.txt").CombinedOutput(); err == nil {
		t.Errorf("curl with a wrong pin succeeded: %s", out)
	}
	// The certificate as CA, by name and by address.
	for _, u := range []string{"https://localhost:" + ts.port + "/hello.txt", ts.URL + "/hello.txt"} {
		if got := curl(t, "--cacert", ts.certFile, u); got != string(want) {
			t.Errorf("--cacert %s: got %q", u, got)
		}
	}
	// Without trust, no download.
	if out, err := exec.Command(bin, "-sS", ts.URL+"/hello.txt").CombinedOutput(); err == nil {
		t.Errorf("curl trusted an unknown self-signed certificate: %s", out)
	}
}

func TestTLSHTTP2(t *testing.T) {
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	got := curl(t, "--http2", "--cacert", ts.certFile, "-o", os.DevNull, "-w", "%{http_version} %{http_code}", ts.URL+"/")
	if got != "2 200" {
		t.Errorf("curl --http2: %q, want HTTP/2 200", got)
	}
	// HTTP/1.1 still works for clients that ask for it.
	got = curl(t, "--http1.1", "--cacert", ts.certFile, "-o", os.DevNull, "-w", "%{http_version} %{http_code}", ts.URL+"/")
	if got != "1.1 200" {
		t.Errorf("curl --http1.1: %q", got)
	}
}

func TestTLSOnlyModernVersions(t *testing.T) {
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	c, err := tls.Dial("tcp", ts.Addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := tls.Dial("tcp", ts.Addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err != nil {
			t.Errorf("TLS version %x: %v", v, err)
			continue
		}
		c.Close()
	}
}

func TestTLSWget(t *testing.T) {
	wget := testutil.NeedTool(t, "wget")
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	want, err := os.ReadFile(filepath.Join(fixture.dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1"} {
		u := "https://" + net.JoinHostPort(host, ts.port) + "/hello.txt"
		out, err := exec.Command(wget, "-q", "-O", "-", "--ca-certificate="+ts.certFile, u).Output()
		if err != nil {
			t.Fatalf("wget %s: %v", u, err)
		}
		if string(out) != string(want) {
			t.Errorf("wget %s: got %q", u, out)
		}
	}
}

func TestTLSPlainHTTPIsRedirected(t *testing.T) {
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	plain := "http://" + ts.Addr + "/sub%20dir/?format=json"
	got := curl(t, "-o", os.DevNull, "-w", "%{http_code} %{redirect_url}", plain)
	if want := "307 https://" + ts.Addr + "/sub%20dir/?format=json"; got != want {
		t.Errorf("plain request: %q, want %q", got, want)
	}
	// Following it gets the listing.
	if got := curl(t, "-L", "--cacert", ts.certFile, "-o", os.DevNull, "-w", "%{http_code}", plain); got != "200" {
		t.Errorf("followed: %s", got)
	}
	// A foreign Host header gets no redirect to it.
	status, hdr, _ := rawRequest(t, ts.Addr, "/")
	if status != 307 || hdr.Get("Location") != "https://"+ts.Addr+"/" {
		t.Errorf("raw plain request: %d %q", status, hdr.Get("Location"))
	}
	out := curl(t, "-o", os.DevNull, "-w", "%{http_code}", "-H", "Host: evil.example", "http://"+ts.Addr+"/")
	if out != "421" {
		t.Errorf("foreign host: %s, want 421", out)
	}
	if !strings.Contains(ts.logs.String(), `"status":307`) {
		t.Errorf("the redirect is not in the access log:\n%s", ts.logs)
	}
}

func TestSecretHTTP(t *testing.T) {
	const token = "Zq3_tokenForTheTest-0123456789ab"
	ts := startTLS(t, shareView(t, fixture.dir, false), token)
	// HTTP/1.1: over HTTP/2 a client that hangs up as the last frame
	// goes out can make that write fail although every byte arrived
	// (net/http cannot tell), and the log check below would flicker.
	curl11 := func(args ...string) string {
		t.Helper()
		return curl(t, append([]string{"--http1.1"}, args...)...)
	}
	ca := []string{"--cacert", ts.certFile, "-o", os.DevNull, "-w", "%{http_code}"}
	for _, p := range []string{"/", "/hello.txt", "/sub%20dir/", "/wrong/", "/" + token[:len(token)-1] + "/", "/" + token + "x/", "//" + token + "/"} {
		if got := curl11(append(ca, ts.URL+p)...); got != "404" {
			t.Errorf("GET %s: %s, want 404", p, got)
		}
	}
	if got := curl11(append(ca, ts.URL+"/"+token+"/hello.txt")...); got != "200" {
		t.Errorf("file under the token: %s", got)
	}
	redirects := map[string]string{"/" + token: "/" + token + "/", "/" + token + "/sub%20dir?x=1": "/" + token + "/sub%20dir/?x=1"}
	for from, to := range redirects {
		got := curl11("--cacert", ts.certFile, "-o", os.DevNull, "-w", "%{http_code} %{redirect_url}", ts.URL+from)
		if want := "301 " + ts.URL + to; got != want {
			t.Errorf("GET %s: %q, want %q", from, got, want)
		}
	}
	page := curl11("--cacert", ts.certFile, ts.URL+"/"+token+"/sub%20dir/")
	for _, want := range []string{`<a href="/` + token + `/">`, `ORIGIN/` + token + `/sub%20dir/?zip`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// The page's archive link downloads the folder; without the token it
	// is a 404 like the rest.
	zipFile := filepath.Join(t.TempDir(), "sub.zip")
	curl11("--cacert", ts.certFile, "-o", zipFile, ts.URL+"/"+token+"/sub%20dir/?zip")
	zr, err := zip.OpenReader(zipFile)
	if err != nil {
		t.Fatalf("the archive under the token: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	if !slices.Contains(names, "sub dir/inner.txt") {
		t.Errorf("the archive under the token holds %q", names)
	}
	for _, q := range []string{"?zip", "?tar.gz", "?sha256"} {
		if got := curl11(append(ca, ts.URL+"/sub%20dir/"+q)...); got != "404" {
			t.Errorf("%s without the token: %s, want 404", q, got)
		}
	}
	var entries []jsonEntry
	if err := json.Unmarshal([]byte(curl11("--cacert", ts.certFile, ts.URL+"/"+token+"/?format=json")), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.URL, "/"+token+"/") {
			t.Errorf("JSON url %q lacks the token", e.URL)
		}
		if e.Name == "hello.txt" {
			if got := curl11(append(ca, ts.URL+e.URL)...); got != "200" {
				t.Errorf("JSON url %s: %s", e.URL, got)
			}
		}
	}
	// The plain redirect keeps the token; the log never shows it.
	got := curl11("-o", os.DevNull, "-w", "%{redirect_url}", "http://"+ts.Addr+"/"+token+"/hello.txt")
	if got != ts.URL+"/"+token+"/hello.txt" {
		t.Errorf("plain redirect: %q", got)
	}
	logs := ts.logs.String()
	if strings.Contains(logs, token) {
		t.Errorf("the token reached the log:\n%s", logs)
	}
	if strings.Contains(logs, "response incomplete") {
		t.Errorf("a response was cut:\n%s", logs)
	}
	if !strings.Contains(logs, `"path":"/hello.txt"`) {
		t.Errorf("the log lacks the path without the token:\n%s", logs)
	}
}

// TestTLSBrowserTrustsPin loads the page in Chromium that trusts nothing
// but the certificate's public key, and expects no console error.
func TestTLSBrowserTrustsPin(t *testing.T) {
	ts := startTLS(t, shareView(t, browserFolder(t), false), "")
	ctx := newBrowser(t, chromedp.Flag("ignore-certificate-errors-spki-list", tlscert.SPKIHash(ts.cert.Leaf)))
	console := watchConsole(ctx)
	do(t, ctx, "open the listing", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
	rows := run(t, ctx, "rows", chromedp.Evaluate[[]string](visibleRows))
	if len(rows) == 0 {
		t.Fatal("no rows on the page")
	}
	proto := run(t, ctx, "protocol", chromedp.Evaluate[string](`performance.getEntriesByType("navigation")[0].nextHopProtocol`))
	if proto != "h2" {
		t.Errorf("the page came over %q, want h2", proto)
	}
	if p := console.problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
	// Without the pin, the browser refuses the page.
	other := newBrowser(t)
	ctx2, cancel := context.WithTimeout(other, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx2, chromedp.Navigate(ts.URL+"/")); err == nil {
		title := run(t, other, "title", chromedp.Evaluate[string](`document.querySelector("#filter") ? "listing" : "none"`))
		if title == "listing" {
			t.Error("a browser without the pin showed the listing")
		}
	}
}

// TestSlowTLSHandshakes: connections that stall before or during the TLS
// handshake (nothing sent, half a ClientHello, half a plain request on
// the HTTPS port, a handshake and then no request) cost no CPU, do not
// delay a normal request, and are closed once the handshake deadline
// (net/http's, from ReadHeaderTimeout) passes.
func TestSlowTLSHandshakes(t *testing.T) {
	const per, headerTimeout = 40, 2 * time.Second
	ts := startTLS(t, shareView(t, fixture.dir, false), "", func(s *Server) { s.srv.ReadHeaderTimeout = headerTimeout })
	halfHello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
	stalls := []func(c net.Conn) net.Conn{
		func(c net.Conn) net.Conn { return c },
		func(c net.Conn) net.Conn { c.Write(halfHello); return c },
		func(c net.Conn) net.Conn { fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Slow: ", ts.Addr); return c },
		func(c net.Conn) net.Conn {
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("handshake: %v", err)
			}
			return tc
		},
	}
	var conns []net.Conn
	for i := range per * len(stalls) {
		// From many loopback addresses: one client alone is capped.
		c := dialFrom(t, fmt.Sprintf("127.0.2.%d", 1+i%20), ts.Addr)
		conns = append(conns, stalls[i%len(stalls)](c))
	}
	before := testutil.CPUTime(t)
	time.Sleep(time.Second)
	if used := testutil.CPUTime(t) - before; used > 300*time.Millisecond {
		t.Errorf("%v of CPU in one second with %d stalled connections", used, len(conns))
	}
	start := time.Now()
	got := curl(t, "--cacert", ts.certFile, ts.URL+"/hello.txt")
	if got != "hello world\n" {
		t.Fatalf("normal request: %q", got)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("a normal request took %v beside stalled handshakes", waited)
	}
	expectDropped(t, conns, headerTimeout+5*time.Second)
}
