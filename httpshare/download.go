package httpshare

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"example.com/share/internal/accesslog"
	"example.com/share/sharefs"
)

// sniffLen is how many bytes net/http's content sniffing looks at.
const sniffLen = 512

// serveFile answers GET and HEAD for an open regular file.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string, f sharefs.File) {
	entry, err := s.openEntry(name, f)
	if err != nil {
		s.statFailed(w, r, name, err)
		return
	}
	if cacheable(f, entry) {
		if sf, err := readSmall(name, f, entry); err == nil {
			s.small.put(name, sf)
			serveSmall(w, r, name, sf)
			return
		}
		// Shorter than it was a moment ago: serve what is there now.
		if _, err := f.(io.Seeker).Seek(0, io.SeekStart); err != nil {
			s.statFailed(w, r, name, err)
			return
		}
	}
	defer corkResponse(r)() // a body in pieces leaves in full segments
	if rs, ok := f.(io.ReadSeeker); ok {
		s.serveSeekable(w, r, name, entry, rs)
		return
	}
	s.serveStream(w, r, name, entry, f)
}

// openEntry describes an open file. An *os.File describes itself; any
// other file (an encrypting view's stream, whose size is not the file's)
// is described by the view.
func (s *Server) openEntry(name string, f sharefs.File) (sharefs.Entry, error) {
	osf, ok := f.(*os.File)
	if !ok {
		return s.view.Stat(name)
	}
	e, err := sharefs.Describe(osf)
	e.Name = path.Base(name)
	return e, err
}

// setFileHeaders sets the type and what every file response carries.
// The sandbox policy makes an HTML or SVG file run in an opaque origin
// without script, so a shared file cannot act as the share. PDFs are
// left out: browsers will not show them in a sandbox, and their viewers
// keep PDF script away from the page's origin. A name that the URL
// spells escaped ("Tài liệu.txt", "a b.txt") is also given inline, so
// curl -OJ and browsers save it by its name, not its escapes.
func setFileHeaders(h http.Header, name, ctype string) {
	if base := path.Base(name); url.PathEscape(base) != base {
		h.Set("Content-Disposition", contentDisposition(true, base))
	}
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if mt, _, _ := strings.Cut(ctype, ";"); mt != "application/pdf" {
		h.Set("Content-Security-Policy", "sandbox")
	}
}

// serveSeekable hands a seekable file to http.ServeContent, which does
// ranges and conditional requests; an *os.File then goes out with
// sendfile.
func (s *Server) serveSeekable(w http.ResponseWriter, r *http.Request, name string, entry sharefs.Entry, rs io.ReadSeeker) {
	h := w.Header()
	ctype, err := seekableType(name, rs)
	if err != nil {
		s.log.Error("read failed", "path", name, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError)
		return
	}
	setFileHeaders(h, name, ctype)
	if tag := etag(entry); tag != "" {
		h.Set("ETag", tag)
	}
	if isPlainGet(r) && entry.Size > 0 {
		s.sendWhole(w, r, name, entry, rs)
		return
	}
	serveContent(w, r, name, entry, rs)
}

// isPlainGet reports a GET without ranges or preconditions, which is
// answered with the whole file.
func isPlainGet(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// sendWhole answers a plain GET with the whole file, like ServeContent
// would, in fewer system calls: no seeks to learn the size (the view
// knows it), and the header is flushed first so that net/http passes the
// whole body to sendfile instead of reading its first bytes itself.
func (s *Server) sendWhole(w http.ResponseWriter, r *http.Request, name string, entry sharefs.Entry, rs io.Reader) {
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Last-Modified", entry.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.FormatInt(entry.Size, 10))
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		return // the client is gone
	}
	if n, err := copyWhole(w, rs, entry.Size); err != nil {
		s.log.Warn("download ended early", "path", name, "bytes", n, "of", entry.Size, "reason", accesslog.Reason(err))
	}
}

// sizedWriterTo is a file made while it is read (an encrypting view's)
// that writes itself whole and knows its size.
type sizedWriterTo interface {
	io.WriterTo
	Size() int64
}

// copyWhole copies the size bytes of rs to w. A file that writes itself
// does, when it is of that size: its pipeline keeps several cores busy.
func copyWhole(w io.Writer, rs io.Reader, size int64) (int64, error) {
	if st, ok := rs.(sizedWriterTo); ok && st.Size() == size {
		return st.WriteTo(w)
	}
	return io.CopyN(w, rs, size)
}

// dropEmptySuffixes removes "-0" from a Range header: a suffix of no
// bytes selects nothing, which net/http would answer with an empty 206.
// It reports false when nothing else remains to satisfy.
func dropEmptySuffixes(r *http.Request) bool {
	rng := r.Header.Get("Range")
	spec, ok := strings.CutPrefix(rng, "bytes=")
	if !ok || !strings.Contains(spec, "-0") {
		return true
	}
	var keep []string
	for part := range strings.SplitSeq(spec, ",") {
		if p := strings.TrimSpace(part); strings.TrimLeft(p, "-0") != "" || !strings.HasPrefix(p, "-") {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return false
	}
	r.Header.Set("Range", "bytes="+strings.Join(keep, ","))
	return true
}

// seekableType picks the Content-Type by extension, else by sniffing the
// first bytes, then rewinds.
func seekableType(name string, rs io.ReadSeeker) (string, error) {
	if t := typeByExtension(name); t != "" {
		return t, nil
	}
	var buf [sniffLen]byte
	n, err := io.ReadFull(rs, buf[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("sniff %q: %w", name, err)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("rewind %q: %w", name, err)
	}
	return http.DetectContentType(buf[:n]), nil
}

// typeByExtension is the MIME type of name's extension, or "".
func typeByExtension(name string) string {
	return mime.TypeByExtension(path.Ext(name))
}

// etag is the strong validator of the version e describes, or "" when
// the view does not know it.
func etag(e sharefs.Entry) string {
	if e.Version.IsZero() {
		return ""
	}
	return `"` + e.Version.String() + `"`
}

// serveStream sends a file that cannot seek (an encrypting view, say):
// no ranges, no ETag, a length only when known. Range is ignored.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, name string, entry sharefs.Entry, f io.Reader) {
	h := w.Header()
	ctype := typeByExtension(name)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	setFileHeaders(h, name, ctype)
	if !entry.ModTime.IsZero() {
		h.Set("Last-Modified", entry.ModTime.UTC().Format(http.TimeFormat))
	}
	if entry.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(entry.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	start := time.Now()
	// io.Copy lets a stream that implements io.WriterTo write itself.
	n, err := io.Copy(w, f)
	if err == nil && entry.Size >= 0 && n != entry.Size {
		err = fmt.Errorf("sent %d bytes of %d", n, entry.Size)
	}
	if err != nil {
		s.log.Warn("download failed", "path", name, "bytes", n, "duration_ms", time.Since(start).Milliseconds(), "reason", accesslog.Reason(err))
		// The client must not take a short body for the whole file.
		panic(http.ErrAbortHandler)
	}
}
