package httpshare

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"example.com/share/internal/accesslog"
	"example.com/share/internal/clientaddr"
	"example.com/share/sharefs"
)

// sumCacheSize bounds the remembered SHA-256 digests (about 100 bytes
// each).
const sumCacheSize = 50_000

// folderDownload is one download a folder URL offers besides its
// listing, selected by a query key: /dir/?zip, /dir/?tar.gz, /dir/?sha256.
type folderDownload struct {
	key         string
	contentType string
	filename    func(root, dir string) string
	inline      bool
	// plainOnly marks a download that means nothing over encrypted
	// files (digests of messages that differ on every read).
	plainOnly bool
	write     func(s *Server, ctx context.Context, w io.Writer, view sharefs.View, dir string) error
}

// encrypting is offered by a view that encrypts every file (cardcrypt's
// view): the server encrypts the folder downloads it builds itself the
// same way, so nothing leaves in plain text.
type encrypting interface {
	Suffix() string
	EncryptTo(w io.Writer, name string, size int64) (io.WriteCloser, error)
}

// plainSource is an encrypting view that also gives the view it
// encrypts, so that an archive holds the plain files and is encrypted
// as a whole. Without it an archive holds the encrypted files.
type plainSource interface {
	Plain() sharefs.View
}

var folderDownloads = []folderDownload{
	{
		key: "zip", contentType: "application/zip",
		filename: func(root, dir string) string { return archiveName(root, dir, "zip") },
		write: func(s *Server, ctx context.Context, w io.Writer, view sharefs.View, dir string) error {
			return writeZip(ctx, w, view, s.opts.Name, dir)
		},
	},
	{
		key: "tar.gz", contentType: "application/gzip",
		filename: func(root, dir string) string { return archiveName(root, dir, "tar.gz") },
		write: func(s *Server, ctx context.Context, w io.Writer, view sharefs.View, dir string) error {
			return writeTarGz(ctx, w, view, s.opts.Name, dir)
		},
	},
	{
		key: "sha256", contentType: "text/plain; charset=utf-8", inline: true, plainOnly: true,
		filename: func(string, string) string { return "SHA256SUMS" },
		write: func(s *Server, ctx context.Context, w io.Writer, view sharefs.View, dir string) error {
			return s.sums.writeSums(ctx, w, view, dir)
		},
	},
}

// serveFolderDownload answers a folder URL with a query that asks for one
// of folderDownloads, and reports whether it did.
func (s *Server) serveFolderDownload(w http.ResponseWriter, r *http.Request, dir string) bool {
	d, ok := folderDownloadOf(r)
	if ok {
		s.streamFolder(w, r, dir, d)
	}
	return ok
}

// folderDownloadOf is the folder download a request's query asks for.
func folderDownloadOf(r *http.Request) (folderDownload, bool) {
	if r.URL.RawQuery == "" {
		return folderDownload{}, false
	}
	q := r.URL.Query()
	for _, d := range folderDownloads {
		if q.Has(d.key) {
			return d, true
		}
	}
	return folderDownload{}, false
}

// streamFolder writes a folder download while reading the folder. Its
// size is unknown, so it goes out chunked; a failure part way cuts the
// connection, so the client never takes a truncated archive for whole.
// Behind an encrypting view the download is encrypted as one message.
func (s *Server) streamFolder(w http.ResponseWriter, r *http.Request, dir string, d folderDownload) {
	view, enc := s.view, encryptingOf(s.view)
	name, ctype, inline := d.filename(s.opts.Name, dir), d.contentType, d.inline
	if enc != nil {
		ps, ok := s.view.(plainSource)
		if ok {
			view = ps.Plain()
		} else if d.plainOnly {
			s.errorPage(w, r, http.StatusNotFound)
			return
		}
		ctype, inline = encryptedType(enc.Suffix()), false
	}
	if r.Method != http.MethodHead { // HEAD makes nothing and takes no slot
		release, ok := s.takeFolderJob(w, r, dir)
		if !ok {
			return
		}
		defer release()
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Disposition", contentDisposition(inline, downloadName(name, enc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// The headers go out now: a job may work long before its first byte
	// (SHA256SUMS of a big file).
	if err := http.NewResponseController(w).Flush(); err != nil {
		return // the client is gone
	}
	// The job stops as soon as its client is gone, even one that left
	// a pipelined byte behind, which net/http does not notice.
	ctx, stop := watchClient(r)
	defer stop()
	if err := s.writeFolder(ctx, w, view, dir, name, d, enc); err != nil {
		s.log.Warn("folder download failed", "path", dir, "kind", d.key, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// takeFolderJob takes a folder job slot for r, or answers that the
// server is busy and reports false.
func (s *Server) takeFolderJob(w http.ResponseWriter, r *http.Request, dir string) (release func(), ok bool) {
	release, err := s.folderJobs.acquire(r.Context(), clientaddr.Parse(r.RemoteAddr))
	if err != nil {
		if r.Context().Err() == nil {
			s.log.Warn("folder download refused: no free slot", "client", accesslog.ClientOf(r.RemoteAddr).String(), "path", dir, "reason", err)
			s.serveBusy(w, r, err)
		}
		return nil, false
	}
	return release, true
}

// writeFolder writes the download to w, through encryption when enc is
// set; the message then carries the plain file name.
func (s *Server) writeFolder(ctx context.Context, w io.Writer, view sharefs.View, dir, name string, d folderDownload, enc encrypting) error {
	if enc == nil {
		return d.write(s, ctx, w, view, dir)
	}
	msg, err := enc.EncryptTo(w, name, -1)
	if err != nil {
		return fmt.Errorf("encrypt %s: %w", name, err)
	}
	if err := d.write(s, ctx, msg, view, dir); err != nil {
		return err
	}
	if err := msg.Close(); err != nil {
		return fmt.Errorf("finish encrypted %s: %w", name, err)
	}
	return nil
}

// sumsAvailable reports whether the view can give SHA256SUMS: digests
// of encrypted files, different on every read, would mean nothing.
func sumsAvailable(v sharefs.View) bool {
	if encryptingOf(v) == nil {
		return true
	}
	_, ok := v.(plainSource)
	return ok
}

// encryptingOf is the view's encryption, or nil.
func encryptingOf(v sharefs.View) encrypting {
	if enc, ok := v.(encrypting); ok {
		return enc
	}
	return nil
}

// downloadName is the name the client saves a download under.
func downloadName(name string, enc encrypting) string {
	if enc == nil {
		return name
	}
	return name + enc.Suffix()
}

// encryptedType is the Content-Type of an encrypted download.
func encryptedType(suffix string) string {
	if suffix == ".asc" {
		return "application/pgp-encrypted"
	}
	return "application/octet-stream"
}

// contentDisposition names the download. Every client reads the plain
// ASCII filename (curl -J reads only that one); names that are not plain
// ASCII also go out exactly as RFC 6266's filename*.
func contentDisposition(inline bool, filename string) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	ascii := asciiFilename(filename)
	v := kind + `; filename="` + ascii + `"`
	if ascii != filename {
		v += "; filename*=UTF-8''" + extValue(filename)
	}
	return v
}

// asciiFilename is the name as plain ASCII for clients that read only
// filename= (curl -J): accents are dropped ("Tài liệu" gives "Tai
// lieu"), a few letters spelt out, and what still cannot stand in a
// quoted ASCII filename becomes "_".
func asciiFilename(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: drop it
		case asciiLetters[r] != "":
			b.WriteString(asciiLetters[r])
		case r < 0x20 || r > 0x7e || strings.ContainsRune(`"\/%`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// asciiLetters spells out letters that have no accent to drop.
var asciiLetters = map[rune]string{
	'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'ł': "l", 'Ł': "L", 'ø': "o", 'Ø': "O",
	'ß': "ss", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", 'þ': "th", 'Þ': "Th", 'ı': "i",
}

// extValue percent-encodes every byte that is not an RFC 5987 attr-char.
func extValue(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChar, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
