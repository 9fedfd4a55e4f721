package httpshare

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// unlock strips the secret prefix (--secret: "/TOKEN") from r's path.
// It returns the request as the rest of the server sees it, and whether
// the path carried the token. Without a secret every request passes. A
// request without the token comes back with the path "-": a near miss
// (a typo, "/TOKENx/") would show most of the token in the access log.
// A request for exactly "/TOKEN" passes with the path "" and is sent on
// to "/TOKEN/" by ServeHTTP.
func (s *Server) unlock(r *http.Request) (*http.Request, bool) {
	if s.base == "" {
		return r, true
	}
	escaped := r.URL.EscapedPath()
	rest, ok := cutToken(escaped, s.base)
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	if !ok {
		u = url.URL{Path: "-"}
	} else {
		u.RawPath = rest
		u.Path, _ = url.PathUnescape(rest) // requestName decodes RawPath again
	}
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2, ok
}

// cutToken removes base ("/TOKEN") from the front of an escaped path,
// comparing in constant time so that timing tells nothing of the token.
func cutToken(escaped, base string) (rest string, ok bool) {
	end := strings.IndexByte(escaped[min(1, len(escaped)):], '/') + 1
	if end <= 0 {
		end = len(escaped)
	}
	if subtle.ConstantTimeCompare([]byte(escaped[:end]), []byte(base)) != 1 {
		return "", false
	}
	return escaped[end:], true
}
