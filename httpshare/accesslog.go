package httpshare

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"example.com/share/internal/accesslog"
	"example.com/share/internal/netutil"
	"example.com/share/internal/transfers"
)

// logWriter records the status and body bytes of a response for the
// access log. It implements io.ReaderFrom by delegation so file bodies
// still reach the kernel's sendfile, and Unwrap for
// http.ResponseController. It hands a file to sendfile stallChunk at a
// time, so that each write the connection sees makes progress within
// its stall deadline (heldConn.renew).
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// board, when set, is told of downloads (not listings) as they go.
	board *transfers.Board
	req   *http.Request
	tr    *transfers.Transfer
	// sock is the connection's socket, for sendRoom; looked up once.
	sock       syscall.RawConn
	sockLooked bool
	// headerDropped: the request's header fields have been let go.
	headerDropped bool
}

// track puts a download that starts with status code on the board.
// Listings, redirects and errors stay off it.
func (w *logWriter) track(code int) {
	r := w.req
	if w.board == nil || (code != http.StatusOK && code != http.StatusPartialContent) || r.Method != http.MethodGet {
		return
	}
	if _, archive := folderDownloadOf(r); strings.HasSuffix(r.URL.Path, "/") && !archive {
		return // a listing
	}
	size := int64(-1)
	if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
		size = n
	}
	w.tr = w.board.Start("http", accesslog.ClientOf(r.RemoteAddr), r.URL.Path, size)
}

// stallChunk is the most one write hands the connection: a client must
// take each within writeStall (so at least 8 KiB/s) or is dropped.
const stallChunk = 1 << 20

// WriteHeader records the status.
func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		w.track(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts body bytes.
func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.track(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	w.tr.Add(int64(n))
	return n, err
}

// ReadFrom hands src to the underlying writer's ReadFrom, which sends
// an *os.File with sendfile.
func (w *logWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.track(http.StatusOK)
	}
	w.dropRequestHeader()
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = w.readFromInChunks(rf, src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
		w.tr.Add(n)
	}
	w.bytes += n
	return n, err
}

// readFromInChunks sends src through rf stallChunk at a time. It takes a LimitedReader apart, as the kernel's
// sendfile path recognises one LimitedReader around a file, not two.
func (w *logWriter) readFromInChunks(rf io.ReaderFrom, src io.Reader) (int64, error) {
	lr, limited := src.(*io.LimitedReader)
	if !limited {
		lr = &io.LimitedReader{R: src, N: 1<<63 - 1}
	}
	var total int64
	for lr.N > 0 {
		want, err := w.nextChunk(min(lr.N, stallChunk))
		if err != nil {
			return total, err
		}
		n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: want})
		total += n
		w.tr.Add(n)
		lr.N -= n
		if err != nil || n < want {
			return total, err
		}
	}
	return total, nil
}

// minChunk is the least nextChunk hands over: fewer bytes are not worth
// the calls.
const minChunk = 8 << 10

// nextChunk waits, within the write deadline, until the connection has
// room and returns how much of up to most bytes to hand it next: no more
// than that room. net/http's ReadFrom holds a 32 KiB buffer for as long
// as it runs, so it should seldom block; a client that stops reading
// then pins no buffer while it stalls, only its connection.
func (w *logWriter) nextChunk(most int64) (int64, error) {
	room, err := w.Room()
	if err != nil || room <= 0 {
		return most, err
	}
	return min(most, max(int64(room), minChunk)), nil
}

// Room implements cardcrypt.RoomTeller: it waits, within the write
// deadline, until the connection can take more, and returns about how
// much (0 when it cannot tell). An encrypted file encrypts no more than
// that ahead, so a client that stops reading pins none of its chunks.
// Whoever asks is sending a body: the request's header fields go.
func (w *logWriter) Room() (int, error) {
	w.dropRequestHeader()
	if !w.sockLooked {
		w.sock, w.sockLooked = rawConnOf(w.req), true
	}
	if w.sock == nil {
		return 0, nil
	}
	if hc, ok := w.req.Context().Value(heldConnKey{}).(*heldConn); ok {
		hc.renew() // the wait counts as part of the write
	}
	room, err := netutil.SendRoom(w.sock)
	if err != nil {
		return 0, fmt.Errorf("wait for the client to take more: %w", err)
	}
	return room, nil
}

// dropRequestHeader lets go of the request's header fields, but the
// User-Agent the access log reads, once a body is copied: the handler
// has read what it needs, and a client at the header limits (16 KiB)
// that stops reading would pin them while its download stalls. Values
// are blanked too: net/http keeps them all in one array that any field
// left would pin.
func (w *logWriter) dropRequestHeader() {
	if w.headerDropped {
		return
	}
	w.headerDropped = true
	h := w.req.Header
	for k, vv := range h {
		if k != "User-Agent" {
			clear(vv)
			delete(h, k)
		}
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through, for handlers that test for http.Flusher.
func (w *logWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// writerOnly hides any ReadFrom method, so io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// logAccess writes one access event (internal/accesslog). A body cut
// short of its declared Content-Length (a failed read, a client gone) is
// a warning; a server error is an error.
func (s *Server) logAccess(w *logWriter, r *http.Request, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	e := accesslog.Event{
		Proto: "http", Client: accesslog.ClientOf(r.RemoteAddr),
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Status: status, Bytes: w.bytes, Start: start,
		Host: r.Host, UserAgent: r.UserAgent(),
	}
	cut := incomplete(w, r, status)
	if cut {
		e.Level, e.Reason = slog.LevelWarn, "response incomplete"
	}
	w.tr.Done(!cut)
	if status >= 500 && status != http.StatusServiceUnavailable {
		e.Level = slog.LevelError // 503 is a refusal (busy), not a fault
	}
	accesslog.Log(r.Context(), s.log, e)
}

// incomplete reports whether fewer body bytes went out than announced.
func incomplete(w *logWriter, r *http.Request, status int) bool {
	if r.Method == http.MethodHead || status == http.StatusNotModified {
		return false
	}
	cl := w.Header().Get("Content-Length")
	if cl == "" {
		return false
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	return err == nil && w.bytes < n
}

// recoverPanic turns a panic in a handler into a logged error and an
// aborted connection; the server keeps serving.
func (s *Server) recoverPanic(w *logWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("handler panic", "path", r.URL.RequestURI(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if w.status == 0 {
		// A plain line, not the page: the page looks through the view,
		// which may be what failed. The headers set for the answer that
		// failed (ETag, Content-Encoding...) must not describe it.
		w.status = http.StatusInternalServerError
		clearedHeader(w.ResponseWriter)
		plainLine(w.ResponseWriter, http.StatusInternalServerError, "500 internal server error")
		return
	}
	// Headers are out: the only honest signal left is to cut the connection.
	panic(http.ErrAbortHandler)
}
