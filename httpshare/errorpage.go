package httpshare

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// errorText is what an error answer says, by status: a plain line for
// programs, a heading and a sentence for people.
var errorText = map[int]struct{ plain, title, say string }{
	http.StatusNotFound: {notFoundBody, "Nothing here",
		"This share has no file or folder at this address. It may have been renamed or removed, or the link is mistyped."},
	http.StatusMethodNotAllowed: {"405 method not allowed: this share is read-only\n", "Read-only",
		"This share only gives files out: nothing can be uploaded, changed or deleted here."},
	http.StatusInternalServerError: {"500 internal server error\n", "Something went wrong",
		"The share could not read this. The person sharing will find the reason in share's log."},
}

// maxErrorClimb bounds the folders an error page looks at to find the
// nearest one that exists.
const maxErrorClimb = 16

// errorPage answers with status: for browsers a page in the listing's
// style with a link to the nearest folder that exists, for other
// clients one plain line. Missing and refused paths get the same answer,
// as the nearest folder is looked up through the view.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	h := clearedHeader(w)
	text := errorText[status]
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		plainError(w, status)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(s.renderError(s.nearestFolder(r), text.title, text.say))
	}
}

// notFound is the plain 404 for a request outside the secret path: it
// links nowhere, as any link into the share would give the token away.
func notFound(w http.ResponseWriter) {
	clearedHeader(w)
	plainError(w, http.StatusNotFound)
}

// plainError answers status with one plain line.
func plainError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(errorText[status].plain))
}

// clearedHeader drops what a handler may have set for the answer it
// meant to give, and marks the error as not to be sniffed or cached.
func clearedHeader(w http.ResponseWriter) http.Header {
	h := w.Header()
	for _, k := range []string{"Content-Length", "ETag", "Last-Modified", "Accept-Ranges", "Content-Encoding", "Content-Disposition", "Content-Security-Policy"} {
		h.Del(k)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	return h
}

// nearestFolder is the deepest folder on the request's path that the
// view shows ("" for the root).
func (s *Server) nearestFolder(r *http.Request) string {
	name, _, ok := requestName(r)
	if !ok || name == "" {
		return ""
	}
	parts := strings.Split(name, "/")
	if len(parts) > maxErrorClimb {
		return ""
	}
	for i := len(parts); i > 0; i-- {
		dir := strings.Join(parts[:i], "/")
		if e, err := s.view.Stat(dir); err == nil && e.IsDir {
			return dir
		}
	}
	return ""
}

// renderError renders an error page whose breadcrumbs lead to dir.
func (s *Server) renderError(dir, title, say string) []byte {
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
	b.WriteString(`<meta name="viewport" content="width=device-width,initial-scale=1">`)
	b.WriteString(`<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">`)
	fmt.Fprintf(&b, "<title>%s</title><style>%s</style></head>\n<body>", html.EscapeString(title), pageCSS)
	writeCrumbs(&b, s.base, s.opts.Name, dir)
	shown := html.EscapeString(displayName(strings.TrimSuffix("/"+dir, "/") + "/"))
	fmt.Fprintf(&b, "<main class=\"error\"><h1>%s</h1><p>%s</p><p><a href=\"%s\">Go to %s</a></p></main>\n</body></html>\n",
		html.EscapeString(title), html.EscapeString(say), s.base+folderURL(dir), shown)
	return b.Bytes()
}
