package httpshare

import (
	"bytes"
	"net/http"
	"strconv"
)

// Request header limits, as nginx keeps them: the request line and every
// header field of one request together at most maxHeaderBytes, and at
// most maxHeaderFields fields. net/http caps bytes only (and lets 4 KiB
// more through), and every field it parses costs far more memory than
// its bytes: 5,700 tiny fields held 620 KiB for as long as the response
// was stalled.
const (
	maxHeaderBytes  = 16 << 10
	maxHeaderFields = 100
)

// headerGuard counts the header block of each request as its bytes come
// off the connection, before net/http parses them. Past a limit it makes
// the rest of the stream one endless header line, so that net/http hits
// its own byte cap in order, after every earlier response, and answers
// 431 and closes as it does for too many bytes.
//
// Bodies are passed over by their Content-Length; after a chunked body
// the guard cannot tell where the next request starts, so it stops
// counting (stopped) and the handler closes the connection after that
// response (see ServeHTTP).
type headerGuard struct {
	over    bool  // a limit was passed: the rest is filler
	stopped bool  // a chunked body was announced: counting stopped
	skip    int64 // body bytes still to pass over

	bytes   int  // bytes of the current block so far
	fields  int  // header lines of the current block so far
	started bool // the request line was seen
	length  int64
	chunked bool

	lineLen int      // bytes of the current line, CR excluded
	line    [48]byte // its start, lower case
}

// filler is what the guard hands net/http once over a limit: no line
// end, so net/http reads on until its own cap.
var filler = bytes.Repeat([]byte{'x'}, 4<<10)

// scan counts the n bytes just read into p and returns how many of them
// to hand on; past a limit p is filled with filler instead.
func (g *headerGuard) scan(p []byte, n int) int {
	for i := 0; i < n; i++ {
		if g.stopped {
			return n
		}
		if g.skip > 0 {
			step := min(g.skip, int64(n-i))
			g.skip -= step
			i += int(step) - 1
			continue
		}
		if !g.byte(p[i]) {
			g.over = true
			if i == 0 {
				return copy(p, filler)
			}
			return i
		}
	}
	return n
}

// byte counts one header byte and reports whether the block is still
// within the limits.
func (g *headerGuard) byte(b byte) bool {
	g.bytes++
	if g.bytes > maxHeaderBytes {
		return false
	}
	switch b {
	case '\r':
		return true
	case '\n':
		return g.endLine()
	}
	if g.lineLen < len(g.line) {
		g.line[g.lineLen] = lower(b)
	}
	g.lineLen++
	return true
}

// endLine finishes a line: the request line, a field, or the empty line
// that ends the block.
func (g *headerGuard) endLine() bool {
	n := g.lineLen
	g.lineLen = 0
	switch {
	case n == 0 && !g.started:
		return true // empty lines before a request: net/http judges them
	case n == 0:
		g.endBlock()
		return true
	case !g.started:
		g.started = true
		return true
	}
	g.fields++
	g.noteBody(g.line[:min(n, len(g.line))], n > len(g.line))
	return g.fields <= maxHeaderFields
}

// noteBody remembers what a field says about the body that follows.
func (g *headerGuard) noteBody(line []byte, cut bool) {
	name, value, ok := bytes.Cut(line, []byte{':'})
	if !ok {
		return
	}
	switch string(bytes.TrimSpace(name)) {
	case "transfer-encoding":
		g.chunked = true
	case "content-length":
		v, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		if err != nil || cut || v < 0 {
			g.chunked = true // net/http refuses it; do not count on it either
			return
		}
		g.length = max(g.length, v)
	}
}

// endBlock starts counting the next request once this one's body is
// passed over.
func (g *headerGuard) endBlock() {
	g.skip, g.stopped = g.length, g.chunked
	g.bytes, g.fields, g.started, g.length, g.chunked = 0, 0, false, 0, false
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// headersWithinLimits answers 431 and reports false for a request with
// more than maxHeaderFields fields, which only a connection the guard
// cannot read (TLS, HTTP/2) lets through to the parser. After a request
// whose successors the guard cannot count, the connection closes.
func headersWithinLimits(w http.ResponseWriter, r *http.Request) bool {
	fields := 0
	for _, v := range r.Header {
		fields += len(v)
	}
	if fields > maxHeaderFields {
		w.Header().Set("Connection", "close")
		http.Error(w, "431 Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
		return false
	}
	if hc, ok := r.Context().Value(heldConnKey{}).(*heldConn); ok && hc.closeAfter.Load() {
		w.Header().Set("Connection", "close")
	}
	return true
}
