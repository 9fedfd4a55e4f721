package httpshare

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// writeCountingListener counts the writes of every accepted connection.
type writeCountingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l writeCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return writeCountingConn{Conn: c, writes: l.writes}, nil
}

type writeCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCountingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSmallResponseOneWrite checks that a small file's response, header
// and body, reaches the network in one write, on a kept-alive
// connection and on one that closes after the response.
func TestSmallResponseOneWrite(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KiB: more than net/http's buffer with the header
	p := filepath.Join(dir, "4k.bin")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	s := New(shareView(t, dir, false), Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writes := &atomic.Int64{}
	done := make(chan error, 1)
	go func() { done <- s.Serve(writeCountingListener{Listener: ln, writes: writes}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	addr := ln.Addr().String()

	// expect reads one response of the file from br and checks that it
	// took one write since before (unless before is -1).
	expect := func(what string, br *bufio.Reader, method string, before int64) {
		t.Helper()
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", what, resp.StatusCode, err)
		}
		if method == "GET" && !bytes.Equal(body, content) {
			t.Errorf("%s: body of %d bytes differs from the file", what, len(body))
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" || resp.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Errorf("%s: header lacks a validator or the sandbox: %v", what, resp.Header)
		}
		if n := writes.Load() - before; before >= 0 && n != 1 {
			t.Errorf("%s: %d writes, want 1", what, n)
		}
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for i, method := range []string{"GET", "GET", "HEAD", "GET"} {
		before := writes.Load()
		fmt.Fprintf(conn, "%s /4k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method)
		expect(fmt.Sprintf("kept alive, request %d (%s)", i+1, method), br, method, before)
	}

	// Two requests sent at once: two responses, each in one write (the
	// second may be out before the first is read).
	before := writes.Load()
	fmt.Fprintf(conn, "GET /4k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /4k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	expect("pipelined, first", br, "GET", -1)
	expect("pipelined, second", br, "GET", -1)
	if n := writes.Load() - before; n != 2 {
		t.Errorf("pipelined: %d writes for two responses, want 2", n)
	}

	for _, req := range []string{
		"GET /4k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		"GET /4k.bin HTTP/1.0\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		before := writes.Load()
		io.WriteString(c, req)
		br := bufio.NewReader(c)
		expect(fmt.Sprintf("%q", req), br, "GET", before)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%q: connection not closed after the response: %v", req, err)
		}
		c.Close()
	}
}
