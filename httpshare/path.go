package httpshare

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"example.com/share/sharefs"
)

// requestName decodes the request path exactly once into a view name.
// It reports whether the path ended in a slash (a folder is asked for)
// and false in ok for any path that must be answered 404: one that does
// not start with "/", is badly encoded, holds an encoded slash, or that
// sharefs.Split refuses ("..", ".", backslash, NUL, too long).
func requestName(r *http.Request) (name string, wantDir, ok bool) {
	return decodePath(r.URL.EscapedPath())
}

// decodePath is requestName on the escaped path itself.
func decodePath(escaped string) (name string, wantDir, ok bool) {
	if !strings.HasPrefix(escaped, "/") || containsFold(escaped, "%2f") {
		return "", false, false
	}
	decoded, err := url.PathUnescape(escaped)
	if err != nil {
		return "", false, false
	}
	parts, ok := sharefs.Split(decoded)
	if !ok {
		return "", false, false
	}
	return strings.Join(parts, "/"), strings.HasSuffix(decoded, "/"), true
}

// containsFold reports whether s contains the ASCII substring sub in any
// letter case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// folderURL is the canonical absolute URL path of folder name, ending in
// a slash. It always starts with exactly one slash.
func folderURL(name string) string {
	if name == "" {
		return "/"
	}
	return fileURL(name) + "/"
}

// fileURL is the canonical absolute URL path of name.
func fileURL(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 8)
	for part := range strings.SplitSeq(name, "/") {
		b.WriteByte('/')
		b.WriteString(escapeSegment(part))
	}
	return b.String()
}

// escapeSegment percent-encodes one path element so that any byte string,
// valid UTF-8 or not, survives the round trip through a link. Only RFC
// 3986 unreserved characters and a few harmless sub-delimiters stay.
func escapeSegment(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepInSegment(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	buf := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepInSegment(c) {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', hex[c>>4], hex[c&15])
	}
	return string(buf)
}

func keepInSegment(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$()*+,;=@", c) >= 0
}

// isNotExist reports whether err means the view does not show the name.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}
