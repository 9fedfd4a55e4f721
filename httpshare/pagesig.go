package httpshare

import (
	"fmt"
	"html"
	"strings"
)

// pageSigning is what the page shows when the card signs.
type pageSigning struct {
	fingerprint string // grouped in fours, as GnuPG prints it
}

// pageSigningOf is the page's signing data, nil without a signer.
func pageSigningOf(s Signer) *pageSigning {
	if s == nil {
		return nil
	}
	fpr := s.Fingerprint()
	var groups []string
	for len(fpr) > 4 {
		groups = append(groups, fpr[:4])
		fpr = fpr[4:]
	}
	return &pageSigning{fingerprint: strings.Join(append(groups, fpr), " ")}
}

// writeSigLink writes a file row's signature link; crawlers need not
// follow it.
func writeSigLink(b pageWriter, href string) {
	fmt.Fprintf(b, " <a class=\"z\" href=\"%s?sig\" rel=\"nofollow\" title=\"OpenPGP signature made by the card\">sig</a>", href)
}

// writeSigningFooter writes the signing key's fingerprint and the
// commands that import it and check a file and the folder's sums.
func writeSigningFooter(b pageWriter, p *pageSigning, base, folder string) {
	if p == nil {
		return
	}
	fmt.Fprintf(b, "<p>Files are signed by the card's key <code class=\"fpr\">%s</code> (<a href=\"%s/?pubkey\" rel=\"nofollow\">public key</a>). Check it, then:</p>", html.EscapeString(p.fingerprint), base)
	for _, cmd := range []string{
		"curl -fsS 'ORIGIN" + base + "/?pubkey' | gpg --import",
		"gpg --verify FILE.sig FILE",
		"curl -fsS 'ORIGIN" + folder + "?sha256' > SHA256SUMS && curl -fsS 'ORIGIN" + folder + "?sha256&sig' > SHA256SUMS.sig && gpg --verify SHA256SUMS.sig SHA256SUMS && sha256sum -c SHA256SUMS",
	} {
		shown := strings.ReplaceAll(cmd, "ORIGIN", "http://HOST:PORT")
		fmt.Fprintf(b, "<p><code data-cmd=\"%s\">%s</code></p>", html.EscapeString(cmd), html.EscapeString(shown))
	}
}
