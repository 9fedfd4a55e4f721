package httpshare

import (
	"encoding/json"
	"fmt"
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
	v := listingVariant(r)
	body, err := s.cache.get(name, v)
	if err != nil {
		s.statFailed(w, r, name, err)
		return
	}
	setListingHeaders(w.Header(), v, body.etag)
	if etagMatches(r.Header.Get("If-None-Match"), body.etag) {
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(body.length(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_ = body.writeTo(w)
	}
}

// listingVariant is the rendering a request asks for.
func listingVariant(r *http.Request) variant {
	v := variant{format: formatHTML, order: defaultOrder, gzip: acceptsGzip(r.Header.Get("Accept-Encoding"))}
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		v.order = listOrderOf(q)
		if q.Get("format") == "json" {
			v.format = formatJSON
		}
	}
	if v.format == formatHTML && wantsJSON(r) {
		v.format = formatJSON
	}
	return v
}

// setListingHeaders sets the headers of a listing response. The page may
// only run its own style and script; it is revalidated on every use.
func setListingHeaders(h http.Header, v variant, etag string) {
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", etag)
	if v.format == formatJSON {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Referrer-Policy", "no-referrer")
	}
	if v.gzip {
		h.Set("Content-Encoding", "gzip")
	}
}

// wantsJSON reports a client that accepts JSON but not HTML, unless
// ?format=html insists.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, "application/json") || strings.Contains(accept, "text/html") {
		return false
	}
	return r.URL.RawQuery == "" || r.URL.Query().Get("format") != "html"
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

// renderJSON renders the JSON listing of folder dir; base prefixes
// every url.
func renderJSON(base, dir string, entries []sharefs.Entry) ([]byte, error) {
	out := make([]jsonEntry, len(entries))
	for i, e := range entries {
		u := base + fileURL(joinName(dir, e.Name))
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
