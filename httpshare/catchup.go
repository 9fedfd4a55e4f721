package httpshare

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"example.com/share/cardcrypt"
	"example.com/share/internal/clientaddr"
	"example.com/share/sharefs"
)

// bindToClient ties the long work of an encrypted file asked for by
// range (a catch-up that encrypts the file up to a far offset before its
// first byte) to r's client: it stops once the client has gone. The
// status line and headers go out before that work, and with several
// ranges each part as soon as it is made: the writer and the file to use
// are returned. stop ends the watch; call it before closing the file.
func bindToClient(w http.ResponseWriter, r *http.Request, f sharefs.File) (http.ResponseWriter, sharefs.File, context.CancelFunc) {
	b, ok := f.(cardcrypt.Binder)
	if ok {
		dropUnusableRange(r) // a range to be ignored is no catch-up
	}
	if !ok || r.Header.Get("Range") == "" {
		return w, f, func() {}
	}
	ctx, stop := watchClient(r)
	client := clientaddr.Parse(r.RemoteAddr)
	// http.ServeContent reads one range in the handler's goroutine, after
	// the headers are set; several in another goroutine, which may start
	// before that, and w is not that goroutine's to touch.
	if strings.Contains(r.Header.Get("Range"), ",") {
		b.Bind(ctx, client, nil)
		return partsAsMade{w}, &sharedFile{f: f}, stop
	}
	b.Bind(ctx, client, func() { sendHeadersEarly(w) })
	return w, f, stop
}

// sharedFile is a file that http.ServeContent reads from its own
// goroutine (several ranges), which can still be in a Read or Seek when
// ServeContent returns (its client gone mid-write): Close waits for
// that call, which ends soon once stop is called, and later ones fail.
// An encrypted stream is not to be closed while it is read.
type sharedFile struct {
	mu     sync.Mutex
	f      sharefs.File
	closed bool
}

func (s *sharedFile) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, os.ErrClosed
	}
	return s.f.Read(p)
}

func (s *sharedFile) Seek(offset int64, whence int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sk, ok := s.f.(io.Seeker)
	switch {
	case s.closed:
		return 0, os.ErrClosed
	case !ok:
		return 0, errors.New("seek: not seekable")
	}
	return sk.Seek(offset, whence)
}

func (s *sharedFile) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.f.Close()
}

// partsAsMade sends what is written at once. http.ServeContent writes
// the parts of several ranges from its own goroutine, through a pipe,
// and net/http would hold the headers and first parts until 512 bytes of
// body came: behind a far part's catch-up, minutes of work with nothing
// sent. Writes are copies through a buffer here (no ReadFrom).
type partsAsMade struct{ http.ResponseWriter }

func (p partsAsMade) Write(b []byte) (int, error) {
	n, err := p.ResponseWriter.Write(b)
	if err == nil {
		err = http.NewResponseController(p.ResponseWriter).Flush()
	}
	return n, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (p partsAsMade) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// sendHeadersEarly sends the response's status line and headers now, if
// the handler has set them.
func sendHeadersEarly(w http.ResponseWriter) {
	if lw, ok := w.(*logWriter); ok && lw.status != 0 {
		_ = http.NewResponseController(w).Flush()
	}
}
