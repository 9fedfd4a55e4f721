package httpshare

import (
	"bytes"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
)

// errorMsg is what an error answer says: a plain line for programs, a
// heading and a sentence for people.
type errorMsg struct{ plain, title, say string }

// errorText is what an error answer says, by status.
var errorText = map[int]errorMsg{
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

// errorPage answers with status in the words of errorText.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	s.sayError(w, r, status, errorText[status])
}

// sayError answers with status and msg: for browsers a page in the
// listing's style with a link to the nearest folder that exists, for
// other clients msg's plain line. Missing and refused paths get the same
// answer, as the nearest folder is looked up through the view.
func (s *Server) sayError(w http.ResponseWriter, r *http.Request, status int, msg errorMsg) {
	if !wantsPage(r) {
		clearedHeader(w)
		plainLine(w, status, msg.plain)
		return
	}
	dir := s.nearestFolder(r)
	shown := displayName(strings.TrimSuffix("/"+dir, "/") + "/")
	sendErrorPage(w, r, status, renderError(func(b *bytes.Buffer) { writeCrumbs(b, s.base, s.opts.Name, dir) }, msg, s.base+folderURL(dir), shown))
}

// misdirected answers a request for a host name that is not this
// machine's (see hostCheck). The page links to the address the request
// reached instead; nothing of the share is looked up for it.
func (s *Server) misdirected(w http.ResponseWriter, r *http.Request, unlocked bool) {
	msg := errorMsg{"This share answers to its IP addresses and this machine's name only: use the address share printed.\n",
		"Wrong address",
		fmt.Sprintf("This share does not answer to the name %s, so that no other web site can reach it through your browser. Use the address the person sharing gave you; they can admit this name with --public-host.", hostOnly(r.Host))}
	if !wantsPage(r) {
		clearedHeader(w)
		plainLine(w, http.StatusMisdirectedRequest, msg.plain)
		return
	}
	href := reachedURL(r)
	if href != "" && unlocked && s.base != "" {
		href += strings.TrimPrefix(s.base, "/") + "/"
	}
	sendErrorPage(w, r, http.StatusMisdirectedRequest, renderError(nil, msg, href, href))
}

// reachedURL is the root URL of the address r came in on, "" if unknown.
func reachedURL(r *http.Request) string {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + addr.String() + "/"
}

// wantsPage reports whether r comes from a browser, which gets pages.
func wantsPage(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// sendErrorPage sends an error page with status.
func sendErrorPage(w http.ResponseWriter, r *http.Request, status int, page []byte) {
	h := clearedHeader(w)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(page)
	}
}

// notFound is the plain 404 for a request outside the secret path: it
// links nowhere, as any link into the share would give the token away.
func notFound(w http.ResponseWriter) {
	clearedHeader(w)
	plainLine(w, http.StatusNotFound, notFoundBody)
}

// plainLine answers status with one plain line.
func plainLine(w http.ResponseWriter, status int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(line))
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

// renderError renders an error page: crumbs (if any), msg, and a link
// to href.
func renderError(crumbs func(*bytes.Buffer), msg errorMsg, href, label string) []byte {
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
	b.WriteString(`<meta name="viewport" content="width=device-width,initial-scale=1">`)
	b.WriteString(`<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">`)
	fmt.Fprintf(&b, "<title>%s</title><style>%s</style></head>\n<body>", html.EscapeString(msg.title), pageCSS)
	if crumbs != nil {
		crumbs(&b)
	}
	fmt.Fprintf(&b, "<main class=\"error\"><h1>%s</h1><p>%s</p>", html.EscapeString(msg.title), html.EscapeString(msg.say))
	if href != "" {
		fmt.Fprintf(&b, "<p><a href=\"%s\">Go to %s</a></p>", html.EscapeString(href), html.EscapeString(label))
	}
	b.WriteString("</main>\n</body></html>\n")
	return b.Bytes()
}
