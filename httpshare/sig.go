package httpshare

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"example.com/share/cardcrypt"
	"example.com/share/internal/clientaddr"
	"example.com/share/sharefs"
)

// Signer makes detached OpenPGP signatures (cardcrypt.Signer).
type Signer interface {
	// Sign signs what content writes; version keys the cache ("" keys
	// it by the bytes).
	Sign(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error) ([]byte, error)
	// SignFile signs a regular file of view, cached by its version.
	SignFile(ctx context.Context, client netip.Addr, view sharefs.View, name string) ([]byte, sharefs.Entry, error)
	Certificate() []byte
	Fingerprint() string
	Suffix() string // ".sig" or ".asc"
}

// serveSigning answers ?sig, ?sha256&sig and ?pubkey when signing is on,
// and reports whether it did.
func (s *Server) serveSigning(w http.ResponseWriter, r *http.Request) bool {
	raw := r.URL.RawQuery
	if s.opts.Signer == nil || !strings.Contains(raw, "sig") && !strings.Contains(raw, "pubkey") {
		return false
	}
	q := r.URL.Query()
	name, wantDir, ok := requestName(r)
	switch {
	case !ok:
		return false
	case q.Has("pubkey") && name == "":
		s.servePubkey(w, r)
	case q.Has("sig") && q.Has("sha256") && wantDir:
		s.serveSumsSignature(w, r, name)
	case q.Has("sig") && !q.Has("sha256") && !wantDir:
		s.serveFileSignature(w, r, name)
	default:
		return false
	}
	return true
}

// serveFileSignature answers FILE?sig: a detached signature over the
// file's (plain) bytes.
func (s *Server) serveFileSignature(w http.ResponseWriter, r *http.Request, name string) {
	view, plain, ok := cardcrypt.SignedView(s.view, name)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound)
		return
	}
	ctx, stop := watchClient(r)
	defer stop()
	client := requestClient(r)
	s.signAndSend(w, r, name, path.Base(plain)+sigSuffix(s.opts.Signer, s.view), stop, func() ([]byte, error) {
		sig, _, err := s.opts.Signer.SignFile(ctx, client, view, plain)
		return sig, err
	})
}

// sigSuffix ends the name a signature is saved under: .sig (.asc
// armored), or .sig when .asc is what the encrypted files end with
// (NAME.asc is the encrypted NAME, SHA256SUMS.asc the encrypted sums).
func sigSuffix(signer Signer, view sharefs.View) string {
	suffix := signer.Suffix()
	if enc := encryptingOf(view); enc != nil && enc.Suffix() == suffix {
		return ".sig"
	}
	return suffix
}

// serveSumsSignature answers dir/?sha256&sig: a signature over exactly
// the bytes dir/?sha256 gives for the same folder state.
func (s *Server) serveSumsSignature(w http.ResponseWriter, r *http.Request, dir string) {
	view, _, ok := cardcrypt.SignedView(s.view, "")
	if !ok {
		s.errorPage(w, r, http.StatusNotFound)
		return
	}
	e, err := view.Stat(dir)
	if err != nil || !e.IsDir {
		s.statFailed(w, r, dir, cmp.Or(err, fs.ErrNotExist))
		return
	}
	release, ok := s.takeFolderJob(w, r, dir)
	if !ok {
		return
	}
	defer release()
	ctx, stop := watchClient(r)
	defer stop()
	client := requestClient(r)
	s.signAndSend(w, r, dir, "SHA256SUMS"+sigSuffix(s.opts.Signer, s.view), stop, func() ([]byte, error) {
		return s.opts.Signer.Sign(ctx, client, "", func(w io.Writer) error {
			return s.sums.writeSums(ctx, w, view, dir)
		})
	})
}

// headersAfter is how long a signature may take before the response's
// status line and headers go out without it: hashing a big file takes
// seconds, and its client would hear nothing meanwhile.
const headersAfter = 200 * time.Millisecond

// signAndSend makes a signature with sign, in another goroutine, and
// sends it. When that takes longer than headersAfter, the status line
// and headers go out first and a failure then cuts the response, so the
// client never takes an error for a signature. sign must end once stop
// is called (HEAD wants no signature, and a client gone none either).
func (s *Server) signAndSend(w http.ResponseWriter, r *http.Request, name, filename string, stop context.CancelFunc, sign func() ([]byte, error)) {
	type result struct {
		sig []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		sig, err := sign()
		done <- result{sig, err}
	}()
	timer := time.NewTimer(headersAfter)
	defer timer.Stop()
	select {
	case res := <-done:
		s.sendSignature(w, r, name, filename, res.sig, res.err)
		return
	case <-timer.C:
	}
	setDownloadHeaders(w.Header(), "application/pgp-signature", filename)
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil || r.Method == http.MethodHead {
		stop()
	}
	res := <-done
	switch {
	case r.Method == http.MethodHead:
	case res.err != nil:
		if r.Context().Err() == nil && !errors.Is(res.err, context.Canceled) {
			s.log.Warn("signature failed after its headers went out", "path", name, "err", res.err)
		}
		panic(http.ErrAbortHandler)
	default:
		_, _ = w.Write(res.sig)
	}
}

// sendSignature answers with a signature or with why there is none.
func (s *Server) sendSignature(w http.ResponseWriter, r *http.Request, name, filename string, sig []byte, err error) {
	switch {
	case err == nil:
		s.sendSmall(w, r, "application/pgp-signature", filename, sig)
	case errors.Is(err, cardcrypt.ErrSignBusy), errors.Is(err, cardcrypt.ErrChangedWhileSigning):
		s.unavailable(w, r, cardcrypt.RetryAfter.Seconds(), err.Error())
	case errors.Is(err, cardcrypt.ErrSignUnavailable):
		s.log.Warn("signature refused: the card is not available", "path", name, "err", err)
		s.unavailable(w, r, 10, "The card that signs is not available right now.")
	case r.Context().Err() != nil:
		// The client has gone; nobody to answer.
	default:
		s.statFailed(w, r, name, err)
	}
}

// unavailable answers 503 with Retry-After.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, seconds float64, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(seconds, 1))))
	s.sayError(w, r, http.StatusServiceUnavailable, errorMsg{"503 " + msg + "\n", "Try again shortly", msg})
}

// servePubkey answers /?pubkey with the card's armored certificate.
func (s *Server) servePubkey(w http.ResponseWriter, r *http.Request) {
	fpr := s.opts.Signer.Fingerprint()
	s.sendSmall(w, r, "application/pgp-keys", fpr[len(fpr)-16:]+".asc", s.opts.Signer.Certificate())
}

// sendSmall sends a small generated body as a download.
func (s *Server) sendSmall(w http.ResponseWriter, r *http.Request, ctype, filename string, body []byte) {
	setDownloadHeaders(w.Header(), ctype, filename)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// setDownloadHeaders sets the headers of a generated download but its
// length.
func setDownloadHeaders(h http.Header, ctype, filename string) {
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Disposition", contentDisposition(false, filename))
}

// requestClient is who counts as one client for the signing queue.
func requestClient(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return clientaddr.Key(ap.Addr())
}
