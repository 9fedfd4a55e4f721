package httpshare

import (
	"context"
	"io"
	"mime"
	"net/http"
)

// sumCacheSize bounds the remembered SHA-256 digests (about 100 bytes
// each).
const sumCacheSize = 50_000

// folderDownload is one download a folder URL offers besides its
// listing, selected by a query key: /dir/?zip, /dir/?tar.gz, /dir/?sha256.
type folderDownload struct {
	key         string
	contentType string
	filename    func(dir string) string
	inline      bool
	write       func(s *Server, ctx context.Context, w io.Writer, dir string) error
}

var folderDownloads = []folderDownload{
	{
		key: "zip", contentType: "application/zip",
		filename: func(dir string) string { return archiveName(dir, "zip") },
		write: func(s *Server, ctx context.Context, w io.Writer, dir string) error {
			return writeZip(ctx, w, s.view, dir)
		},
	},
	{
		key: "tar.gz", contentType: "application/gzip",
		filename: func(dir string) string { return archiveName(dir, "tar.gz") },
		write: func(s *Server, ctx context.Context, w io.Writer, dir string) error {
			return writeTarGz(ctx, w, s.view, dir)
		},
	},
	{
		key: "sha256", contentType: "text/plain; charset=utf-8", inline: true,
		filename: func(string) string { return "SHA256SUMS" },
		write: func(s *Server, ctx context.Context, w io.Writer, dir string) error {
			return s.sums.writeSums(ctx, w, s.view, dir)
		},
	},
}

// serveFolderDownload answers a folder URL with a query that asks for one
// of folderDownloads, and reports whether it did.
func (s *Server) serveFolderDownload(w http.ResponseWriter, r *http.Request, dir string) bool {
	if r.URL.RawQuery == "" {
		return false
	}
	q := r.URL.Query()
	for _, d := range folderDownloads {
		if q.Has(d.key) {
			s.streamFolder(w, r, dir, d)
			return true
		}
	}
	return false
}

// streamFolder writes a folder download while reading the folder. Its
// size is unknown, so it goes out chunked; a failure part way cuts the
// connection, so the client never takes a truncated archive for whole.
func (s *Server) streamFolder(w http.ResponseWriter, r *http.Request, dir string, d folderDownload) {
	h := w.Header()
	h.Set("Content-Type", d.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Disposition", contentDisposition(d.inline, d.filename(dir)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := d.write(s, r.Context(), w, dir); err != nil {
		s.log.Warn("folder download failed", "path", dir, "kind", d.key, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// contentDisposition names the download; FormatMediaType encodes names
// that are not plain ASCII as RFC 2231 asks.
func contentDisposition(inline bool, filename string) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": filename}); v != "" {
		return v
	}
	return kind
}
