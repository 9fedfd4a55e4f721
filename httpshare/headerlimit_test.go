package httpshare

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// dialFrom opens a TCP connection to addr from the loopback address
// from, closed with the test.
func dialFrom(t testing.TB, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// headerRequest is a GET of target with fields header fields, padded
// with one more field so the whole block is size bytes when size > 0.
func headerRequest(target string, fields, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", target)
	for i := 1; i < fields; i++ {
		fmt.Fprintf(&b, "X-%d: v\r\n", i)
	}
	if size > 0 {
		pad := size - b.Len() - len("X-Pad: \r\n\r\n")
		fmt.Fprintf(&b, "X-Pad: %s\r\n", strings.Repeat("p", max(pad, 0)))
	}
	b.WriteString("\r\n")
	return b.String()
}

// readStatuses reads responses off c until it closes and returns their
// status codes.
func readStatuses(t *testing.T, c net.Conn) []int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var codes []int
	for range 10 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return codes
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	t.Fatal("more than 10 responses")
	return nil
}

// TestHeaderLimits: up to maxHeaderFields fields and maxHeaderBytes
// bytes (request line included) are served; one more of either gets a
// 431 and the connection closes, also when the request was pipelined
// behind a good one.
func TestHeaderLimits(t *testing.T) {
	ts := startFixture(t)
	last := "GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
	for _, c := range []struct {
		name string
		req  string
		want []int
	}{
		{"100 fields", headerRequest("/hello.txt", maxHeaderFields, 0) + last, []int{200, 200}},
		{"101 fields", headerRequest("/hello.txt", maxHeaderFields+1, 0) + last, []int{431}},
		{"16 KiB", headerRequest("/hello.txt", 2, maxHeaderBytes) + last, []int{200, 200}},
		{"16 KiB + 1", headerRequest("/hello.txt", 2, maxHeaderBytes+1) + last, []int{431}},
		{"5,700 tiny fields", headerRequest("/hello.txt", 5700, 0), []int{431}},
		{"pipelined behind a good one", headerRequest("/hello.txt", 3, 0) + headerRequest("/hello.txt", 500, 0) + last, []int{200, 431}},
		{"body passed over", "GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 600\r\n\r\n" + strings.Repeat("a:b\r\n", 120) + last, []int{200, 200}},
		{"chunked body closes", "GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + last, []int{200}},
	} {
		conn := dialFrom(t, "127.0.0.1", ts.Addr)
		if _, err := io.WriteString(conn, c.req); err != nil {
			t.Fatal(err)
		}
		if got := readStatuses(t, conn); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: statuses %v, want %v, then the connection closed", c.name, got, c.want)
		}
	}
}

// TestHeaderMemory: requests at the header limits whose responses are
// never read hold a bounded amount of memory each, and the 5,700-field
// request of issue 9 is refused before it costs anything.
func TestHeaderMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	const conns = 256 // 64 per client address
	ts := startFixture(t)
	stalled := headerRequest("/big.bin", maxHeaderFields, maxHeaderBytes)
	before := testutil.HeapInUse()
	var open []net.Conn
	for i := range conns {
		c := dialFrom(t, fmt.Sprintf("127.0.2.%d", 1+i/64), ts.Addr)
		if _, err := io.WriteString(c, stalled); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	// Every request reached its handler once the server has written
	// its first bytes to each.
	for _, c := range open {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	per := (testutil.HeapInUse() - before) / conns
	t.Logf("%d KiB of heap per stalled request at the header limits", per>>10)
	if per > 64<<10 {
		t.Errorf("%d KiB of heap per stalled request; want at most 64 KiB", per>>10)
	}
	attack := dialFrom(t, "127.0.3.1", ts.Addr)
	if _, err := io.WriteString(attack, headerRequest("/big.bin", 5700, 0)); err != nil {
		t.Fatal(err)
	}
	if got := readStatuses(t, attack); fmt.Sprint(got) != "[431]" {
		t.Errorf("5,700 fields: %v, want [431]", got)
	}
}

// TestHeaderLimitsTLS: over TLS the guard cannot read the header lines,
// so the fields are counted once parsed: 100 pass, 101 get a 431, over
// HTTP/1.1 and HTTP/2 alike.
func TestHeaderLimitsTLS(t *testing.T) {
	ts := startTLS(t, shareView(t, fixture.dir, false), "")
	pool := x509.NewCertPool()
	pool.AddCert(ts.cert.Leaf)
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		for fields, want := range map[int]int{maxHeaderFields: 200, maxHeaderFields + 1: 431} {
			req, err := http.NewRequest("GET", ts.URL+"/hello.txt", nil)
			if err != nil {
				t.Fatal(err)
			}
			// Go's client adds User-Agent and Accept-Encoding itself.
			for i := 3; i <= fields; i++ {
				req.Header.Set(fmt.Sprintf("X-%d", i), "v")
			}
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("h2=%v, %d fields: %v", h2, fields, err)
			}
			resp.Body.Close()
			if resp.StatusCode != want || (h2 && resp.ProtoMajor != 2) {
				t.Errorf("h2=%v, %d fields: %s %d, want %d", h2, fields, resp.Proto, resp.StatusCode, want)
			}
		}
		tr.CloseIdleConnections()
	}
}
