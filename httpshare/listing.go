package httpshare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"example.com/share/sharefs"
)

// listingFormat is one rendering of a folder listing.
type listingFormat int

const (
	formatHTML listingFormat = iota
	formatJSON
)

// serveFolder answers GET and HEAD for a folder with its listing, HTML or
// JSON, gzip-compressed when the client takes it, from the cache.
func (s *Server) serveFolder(w http.ResponseWriter, r *http.Request, name string, st sharefs.Entry) {
	if s.serveFolderDownload(w, r, name) {
		return
	}
	format := listingFormatOf(r)
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, err := s.cache.get(name, st, format, gz)
	if err != nil {
		s.statFailed(w, r, name, err)
		return
	}
	h := w.Header()
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if format == formatJSON {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Referrer-Policy", "no-referrer")
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", body.etag)
	if etagMatches(r.Header.Get("If-None-Match"), body.etag) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body.data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.data)
	}
}

// listingFormatOf picks JSON for ?format=json or a client that accepts
// JSON but not HTML; HTML otherwise.
func listingFormatOf(r *http.Request) listingFormat {
	switch r.URL.Query().Get("format") {
	case "json":
		return formatJSON
	case "html":
		return formatHTML
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html") {
		return formatJSON
	}
	return formatHTML
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// etagMatches is the weak comparison of If-None-Match against tag.
func etagMatches(header, tag string) bool {
	if header == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == strings.TrimPrefix(tag, "W/") {
			return true
		}
	}
	return false
}

// jsonEntry is one element of the JSON listing. URL is the escaped
// absolute path, exact even for names that are not valid UTF-8.
type jsonEntry struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`
	IsDir    bool   `json:"is_dir"`
	URL      string `json:"url"`
}

// renderJSON renders the JSON listing of folder dir.
func renderJSON(dir string, entries []sharefs.Entry) ([]byte, error) {
	out := make([]jsonEntry, len(entries))
	for i, e := range entries {
		u := fileURL(joinName(dir, e.Name))
		if e.IsDir {
			u += "/"
		}
		out[i] = jsonEntry{
			Name:     e.Name,
			Size:     e.Size,
			Modified: e.ModTime.UTC().Format(time.RFC3339),
			IsDir:    e.IsDir,
			URL:      u,
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("json listing of %q: %w", dir, err)
	}
	return append(b, '\n'), nil
}

// joinName joins a folder name and an element.
func joinName(dir, elem string) string {
	if dir == "" {
		return elem
	}
	return dir + "/" + elem
}

// renderHTML renders the HTML listing page of folder dir.
func renderHTML(dir string, entries []sharefs.Entry, ftpURL string) []byte {
	var b bytes.Buffer
	b.Grow(1024 + len(entries)*200)
	title := html.EscapeString(displayName("/" + dir))
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
	b.WriteString(`<meta name="viewport" content="width=device-width,initial-scale=1">`)
	b.WriteString(`<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">`)
	fmt.Fprintf(&b, "<title>%s</title><style>%s</style></head>\n<body>", title, pageCSS)
	writeCrumbs(&b, dir)
	b.WriteString(folderActions)
	b.WriteString("<main><table>\n<thead><tr><th class=\"n\">Name</th><th class=\"s\">Size</th><th class=\"m\">Modified</th></tr></thead>\n<tbody>\n")
	if dir != "" {
		b.WriteString("<tr class=\"d up\"><td class=\"n\"><a href=\"../\">../</a></td><td class=\"s\"></td><td class=\"m\"></td></tr>\n")
	}
	dirs, files := 0, 0
	for _, e := range entries {
		writeRow(&b, e)
		if e.IsDir {
			dirs++
		} else {
			files++
		}
	}
	b.WriteString("</tbody></table>")
	if len(entries) == 0 {
		b.WriteString("<p class=\"empty\">This folder is empty.</p>")
	}
	b.WriteString("</main>\n<footer>")
	fmt.Fprintf(&b, "%s, %s", plural(dirs, "folder"), plural(files, "file"))
	if ftpURL != "" {
		fmt.Fprintf(&b, " · also over FTP: <code>%s</code>", html.EscapeString(ftpURL))
	}
	b.WriteString("</footer>\n</body></html>\n")
	return b.Bytes()
}

// writeCrumbs writes the breadcrumb trail: every ancestor is a link.
func writeCrumbs(b *bytes.Buffer, dir string) {
	b.WriteString("<header><nav class=\"crumbs\" aria-label=\"breadcrumbs\"><a href=\"/\">share</a>")
	if dir == "" {
		b.WriteString("<span>/</span></nav></header>\n")
		return
	}
	parts := strings.Split(dir, "/")
	for i, p := range parts {
		b.WriteString("<span>/</span>")
		label := html.EscapeString(displayName(p))
		if i == len(parts)-1 {
			fmt.Fprintf(b, "<strong>%s</strong>", label)
			continue
		}
		fmt.Fprintf(b, "<a href=\"%s\">%s</a>", folderURL(strings.Join(parts[:i+1], "/")), label)
	}
	b.WriteString("</nav></header>\n")
}

// folderActions is the line under the breadcrumbs offering the whole
// folder as one download.
const folderActions = `<p class="dl">Whole folder: <a href="?zip">.zip</a> <a href="?tar.gz">.tar.gz</a> <a href="?sha256">SHA256SUMS</a></p>` + "\n"

// writeRow writes one table row. The link is relative to the folder and
// percent-encoded byte for byte; the text is the escaped display name.
func writeRow(b *bytes.Buffer, e sharefs.Entry) {
	href := escapeSegment(e.Name)
	label := html.EscapeString(displayName(e.Name))
	if e.IsDir {
		fmt.Fprintf(b, "<tr class=\"d\"><td class=\"n\"><a href=\"%s/\">%s/</a></td><td class=\"s\"><a class=\"z\" href=\"%s/?zip\" title=\"download the folder as .zip\">zip</a></td>", href, label, href)
	} else {
		fmt.Fprintf(b, "<tr class=\"f\"><td class=\"n\"><a href=\"%s\">%s</a></td>", href, label)
		if e.Size >= 0 {
			fmt.Fprintf(b, "<td class=\"s\" title=\"%d bytes\">%s</td>", e.Size, humanSize(e.Size))
		} else {
			b.WriteString("<td class=\"s\" title=\"size unknown\">?</td>")
		}
	}
	t := e.ModTime
	fmt.Fprintf(b, "<td class=\"m\"><time datetime=\"%s\" title=\"%s\">%s</time></td></tr>\n",
		t.UTC().Format(time.RFC3339), t.Format("2006-01-02 15:04:05 MST"), t.Format("2006-01-02 15:04"))
}

// humanSize shows a byte count in binary units with one decimal.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	const units = "KMGTPE"
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f %ciB", v, units[i])
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// displayName makes a name safe and unambiguous to show: bytes that are
// not valid UTF-8 and control characters appear as \xNN, and characters
// that reorder text (bidi controls) as \u{NNNN}, so a name cannot
// pretend to be another. sharefs never lists names with a backslash, so
// the escapes cannot be confused with real names.
func displayName(name string) string {
	if isPlainName(name) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", name[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case isReordering(r) || unicode.IsControl(r):
			fmt.Fprintf(&b, "\\u{%04x}", r)
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlainName reports whether name is printable ASCII, the common case.
func isPlainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isReordering reports the Unicode bidi formatting characters.
func isReordering(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}
