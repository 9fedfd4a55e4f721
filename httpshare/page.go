package httpshare

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"strings"
)

// pageCSS is the listing page's style sheet, inlined into every page.
//
//go:embed assets/listing.css
var pageCSS string

// pageCSP allows nothing but the page's own inline style (by hash, so the
// rendered page can be cached) and same-origin navigation.
var pageCSP = strings.Join([]string{
	"default-src 'none'",
	"style-src " + cspHash(pageCSS),
	"img-src data:",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
}, "; ")

// cspHash is the CSP source expression for an inline element's text.
func cspHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
