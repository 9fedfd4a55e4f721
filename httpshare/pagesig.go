package httpshare

import (
	"fmt"
	"html"
	"strings"

	"example.com/share/sharefs"
)

// pageSigning is what the page shows when the card signs.
type pageSigning struct {
	fingerprint string // grouped in fours, as GnuPG prints it
	suffix      string // of the signatures' names: .sig or .asc
	encrypted   bool   // ?sha256 gives the sums encrypted
}

// pageSigningOf is the page's signing data, nil without a signer.
func pageSigningOf(s Signer, view sharefs.View) *pageSigning {
	if s == nil {
		return nil
	}
	p := &pageSigning{suffix: sigSuffix(s, view), encrypted: encryptingOf(view) != nil}
	fpr := s.Fingerprint()
	var groups []string
	for len(fpr) > 4 {
		groups = append(groups, fpr[:4])
		fpr = fpr[4:]
	}
	p.fingerprint = strings.Join(append(groups, fpr), " ")
	return p
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
	sums := "curl -fsS 'ORIGIN" + folder + "?sha256' > SHA256SUMS"
	if p.encrypted {
		sums = "curl -fsS 'ORIGIN" + folder + "?sha256' | gpg --decrypt > SHA256SUMS"
	}
	sigs := "SHA256SUMS" + p.suffix
	for _, cmd := range []string{
		"curl -fsS 'ORIGIN" + base + "/?pubkey' | gpg --import",
		"gpg --verify FILE" + p.suffix + " FILE",
		sums + " && curl -fsS 'ORIGIN" + folder + "?sha256&sig' > " + sigs + " && gpg --verify " + sigs + " SHA256SUMS && sha256sum -c SHA256SUMS",
	} {
		shown := strings.ReplaceAll(cmd, "ORIGIN", "http://HOST:PORT")
		fmt.Fprintf(b, "<p><code data-cmd=\"%s\">%s</code></p>", html.EscapeString(cmd), html.EscapeString(shown))
	}
}
