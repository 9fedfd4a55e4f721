package httpshare

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxStreams bounds the HTTP/2 requests one connection runs at once, so
// that the per-client connection cap still bounds a client's handlers.
const maxStreams = 32

// setupTLS makes the server speak HTTPS with cfg: TLS 1.2 and 1.3, HTTP/2
// by ALPN (ServeTLS adds "h2" and "http/1.1").
func (s *Server) setupTLS(cfg *tls.Config) {
	c := cfg.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	s.srv.TLSConfig = c
	s.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: maxStreams}
	s.srv.ErrorLog = log.New(serverErrors{s.log}, "", 0)
}

// serverErrors sends net/http's own messages to the log. Failed TLS
// handshakes are the clients' business (a browser that does not trust
// the certificate yet, a plain HTTP request answered with a redirect):
// they go to the debug level.
type serverErrors struct{ log *slog.Logger }

func (e serverErrors) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	level := slog.LevelWarn
	if bytes.Contains(p, []byte("TLS handshake error")) {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "http server", "msg", msg)
	return len(p), nil
}

// plainListener gives each connection a look at its first byte: a TLS
// handshake goes on; anything else is taken for plain HTTP and answered
// with a redirect to https:// (see sniffConn).
type plainListener struct {
	net.Listener
	s *Server
}

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, s: l.s}, nil
}

// errPlainHTTP ends the TLS handshake of a connection that spoke plain
// HTTP and was answered with a redirect.
var errPlainHTTP = errors.New("plain HTTP request answered with a redirect to https")

// tlsHandshake is the first byte of every TLS connection: a handshake
// record.
const tlsHandshake = 0x16

// sniffConn checks the first byte the client sends. Only the TLS
// handshake reads it, in the connection's own goroutine and under the
// handshake's deadline, so a slow client holds up nobody else.
type sniffConn struct {
	net.Conn
	s       *Server
	checked bool
}

// NetConn gives the connection underneath (netutil.Cork looks through).
func (c *sniffConn) NetConn() net.Conn { return c.Conn }

func (c *sniffConn) Read(p []byte) (int, error) {
	if c.checked || len(p) == 0 {
		return c.Conn.Read(p)
	}
	n, err := c.Conn.Read(p[:1])
	if n == 0 {
		return 0, err
	}
	c.checked = true
	if p[0] != tlsHandshake {
		c.s.redirectPlain(c.Conn, p[0])
		return 0, errPlainHTTP
	}
	return 1, nil
}

// redirectPlain reads one plain HTTP request whose first byte is first
// and answers it with a temporary redirect to the same URL in https://
// (temporary, so a browser does not remember it once --tls is off).
func (s *Server) redirectPlain(c net.Conn, first byte) {
	start := time.Now()
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader([]byte{first}), io.LimitReader(c, maxHeaderBytes)), 4096)
	r, err := http.ReadRequest(br)
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err != nil {
		io.WriteString(c, plainResponse(http.StatusBadRequest, "", "This port speaks HTTPS: use https://.\n"))
		return
	}
	r.RemoteAddr = c.RemoteAddr().String()
	uri := r.URL.RequestURI() // as the client sent it, token included
	r, _ = s.unlock(r)        // the access log never sees the token
	host := r.Host
	if host == "" {
		host = c.LocalAddr().String()
	}
	lw := &logWriter{ResponseWriter: noResponse{}}
	if !s.hosts.allowed(host) || !plainHost(host) {
		lw.status = http.StatusMisdirectedRequest
		io.WriteString(c, plainResponse(lw.status, "", "Use the address share printed.\n"))
	} else {
		lw.status = http.StatusTemporaryRedirect
		target := "https://" + host + uri
		io.WriteString(c, plainResponse(lw.status, target, "This share speaks HTTPS: "+target+"\n"))
	}
	s.logAccess(lw, r, start)
}

// plainResponse is a whole HTTP/1.1 response that closes the connection.
func plainResponse(status int, location, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if location != "" {
		b.WriteString("Location: " + location + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// plainHost reports whether a Host header holds only the bytes of a host
// name, an IP address and a port, so it can go into a Location header.
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]%", c) >= 0) {
			return false
		}
	}
	return host != ""
}

// noResponse stands for the response of a request answered outside
// net/http, so that logAccess can log it like any other.
type noResponse struct{}

func (noResponse) Header() http.Header         { return http.Header{} }
func (noResponse) Write(p []byte) (int, error) { return len(p), nil }
func (noResponse) WriteHeader(int)             {}

// heldOf finds the heldConn under a connection, through TLS.
func heldOf(c net.Conn) (*heldConn, bool) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	hc, ok := c.(*heldConn)
	return hc, ok
}
