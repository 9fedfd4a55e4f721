package httpshare

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"path"
	"strings"
	"time"

	"example.com/share/sharefs"
)

// pageCSS is the listing page's style sheet, inlined into every page.
//
//go:embed assets/listing.css
var pageCSS string

// pageJS is the page's script: filter, client-side sort, relative
// times, copy-link buttons. The page works without it.
//
//go:embed assets/listing.js
var pageJS string

// pageCSP allows nothing but the page's own inline style and script (by
// hash, so the rendered page can be cached), images from the share (for
// a README), and same-origin navigation.
var pageCSP = strings.Join([]string{
	"default-src 'none'",
	"style-src " + cspHash(pageCSS),
	"script-src " + cspHash(pageJS),
	"img-src 'self' data:",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
}, "; ")

// cspHash is the CSP source expression for an inline element's text.
func cspHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// pageData is what one listing page shows besides its rows.
type pageData struct {
	base    string // path prefix of every absolute link: "" or "/TOKEN"
	dir     string
	root    string // the shared folder's name
	order   listOrder
	ftpPort int
	readme  []byte // rendered, safe HTML; nil for none
	noSums  bool   // the view cannot give SHA256SUMS
	signing *pageSigning
	// enc tells whom downloads are encrypted to; nil when they are not.
	enc *encryptionNote
}

// renderHTML renders the HTML listing page of folder dir.
func renderHTML(p pageData, entries []sharefs.Entry) []byte {
	var b bytes.Buffer
	b.Grow(int(pageEstimate(p.readme, entries)))
	writePage(&b, p, entries)
	if b.Cap()-b.Len() > b.Len()/8 {
		return bytes.Clone(b.Bytes()) // the page stays cached: little spare capacity
	}
	return b.Bytes()
}

// pageWriter is what a page is written to: a buffer to keep, or, for a
// page too big to keep whole, a compressor.
type pageWriter interface {
	io.Writer
	io.StringWriter
}

// pageEstimate is about the size of the page of entries.
func pageEstimate(readme []byte, entries []sharefs.Entry) int64 {
	n := int64(8192 + len(readme) + len(pageCSS) + len(pageJS))
	for i := range entries {
		n += rowBytes + 2*int64(len(entries[i].Name))
	}
	return n
}

// writePage writes the page of a folder whose entries are in order.
func writePage(b pageWriter, p pageData, entries []sharefs.Entry) {
	title := html.EscapeString(displayName(path.Join(p.root, p.dir)))
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
	b.WriteString(`<meta name="viewport" content="width=device-width,initial-scale=1">`)
	b.WriteString(`<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,">`)
	fmt.Fprintf(b, "<title>%s</title><style>%s</style></head>\n<body>", title, pageCSS)
	writeCrumbs(b, p.base, p.root, p.dir)
	writeEncryptionNote(b, p.enc)
	writeFolderActions(b, !p.noSums, p.signing != nil)
	b.WriteString(`<main><div class="tools"><input id="filter" type="search" placeholder="Filter" title="Filter the names (press / to come here)" aria-label="filter names" autocomplete="off" spellcheck="false" hidden> <span id="shown" aria-live="polite"></span></div>`)
	b.WriteString("\n<table class=\"list\">\n<thead><tr>")
	writeSortHeader(b, p.order, "name", "n", "Name")
	writeSortHeader(b, p.order, "size", "s", "Size")
	writeSortHeader(b, p.order, "time", "m", "Modified")
	b.WriteString("</tr></thead>\n<tbody>\n")
	if p.dir != "" {
		b.WriteString("<tr class=\"d up\"><td class=\"n\"><a href=\"../\">../</a></td><td class=\"s\"></td><td class=\"m\"></td></tr>\n")
	}
	dirs, files := 0, 0
	for _, e := range entries {
		writeRow(b, e, p.signing != nil)
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
	if p.readme != nil {
		b.WriteString("\n<section class=\"readme\" aria-label=\"README\">")
		b.Write(p.readme)
		b.WriteString("</section>")
	}
	b.WriteString("</main>\n")
	writeFooter(b, p, dirs, files)
	fmt.Fprintf(b, "<script>%s</script>\n</body></html>\n", pageJS)
}

// rowBytes is about what one row of the page takes, names aside.
const rowBytes = 240

// writeSortHeader writes one column header: a button that sorts by the
// column, or reverses the order if it is sorted by it already. It is a
// form, not a link, so that crawlers (wget -r, lftp mirror) do not fetch
// every folder again in each order.
func writeSortHeader(b pageWriter, cur listOrder, by, class, label string) {
	aria, next := "none", listOrder{by: by}
	if cur.by == by {
		aria = "ascending"
		if cur.desc {
			aria = "descending"
		} else {
			next.desc = true
		}
	}
	order, desc := "asc", ""
	if next.desc {
		order, desc = "desc", `<input type="hidden" name="order" value="desc">`
	}
	fmt.Fprintf(b, "<th class=\"%s\" aria-sort=\"%s\"><form method=\"get\"><button name=\"sort\" value=\"%s\" data-sort=\"%s\" data-order=\"%s\">%s</button>%s</form></th>",
		class, aria, by, by, order, label, desc)
}

// maxCrumbs bounds the ancestors the breadcrumbs name. Every link holds
// its folder's whole path, so naming all the ancestors of a folder d deep
// takes O(d^2) bytes (some MB at depth 400); those above the last
// maxCrumbs are one "…" link instead, to the deepest of them.
const maxCrumbs = 10

// writeCrumbs writes the breadcrumb trail: the root, then the ancestors
// (the last maxCrumbs by name), each a link.
func writeCrumbs(b pageWriter, base, root, dir string) {
	fmt.Fprintf(b, "<header><nav class=\"crumbs\" aria-label=\"breadcrumbs\"><a href=\"%s/\">%s</a>", base, html.EscapeString(displayName(root)))
	if dir == "" {
		b.WriteString("<span>/</span></nav></header>\n")
		return
	}
	parts := strings.Split(dir, "/")
	folded := len(parts) - 1 - maxCrumbs // ancestors behind the "…"
	end := -1                            // dir[:end] is the path of parts[:i+1]
	for i, p := range parts {
		end += 1 + len(p)
		switch {
		case i < folded-1:
			continue
		case i == folded-1:
			fmt.Fprintf(b, "<span>/</span><a href=\"%s\" title=\"%d folders\">…</a>", base+folderURL(dir[:end]), folded)
		case i == len(parts)-1:
			fmt.Fprintf(b, "<span>/</span><strong>%s</strong>", html.EscapeString(displayName(p)))
		default:
			fmt.Fprintf(b, "<span>/</span><a href=\"%s\">%s</a>", base+folderURL(dir[:end]), html.EscapeString(displayName(p)))
		}
	}
	b.WriteString("</nav></header>\n")
}

// encryptionNote is what the page says of an encrypting view.
type encryptionNote struct {
	suffix     string   // ".gpg" or ".asc"
	recipients []string // "Ada <ada@example.org>, key 0123…"
}

// describesRecipients is offered by an encrypting view that can say
// whom it encrypts to (cardcrypt's view).
type describesRecipients interface {
	Recipients() []string
}

// encryptionNoteOf is the note for view, or nil when it does not encrypt.
func encryptionNoteOf(view sharefs.View) *encryptionNote {
	enc := encryptingOf(view)
	if enc == nil {
		return nil
	}
	n := &encryptionNote{suffix: enc.Suffix()}
	if d, ok := view.(describesRecipients); ok {
		n.recipients = d.Recipients()
	}
	return n
}

// writeEncryptionNote says that every download is encrypted, to whom,
// and how to decrypt one.
func writeEncryptionNote(b pageWriter, n *encryptionNote) {
	if n == nil {
		return
	}
	b.WriteString(`<section class="enc" aria-label="encryption"><p><strong>Every download here is encrypted</strong> (OpenPGP), so only the holder of the key can read it`)
	if len(n.recipients) > 0 {
		b.WriteString(". Encrypted to:</p><ul>")
		for _, r := range n.recipients {
			fmt.Fprintf(b, "<li><code>%s</code></li>", html.EscapeString(r))
		}
		b.WriteString("</ul>")
	} else {
		b.WriteString(".</p>")
	}
	fmt.Fprintf(b, "<p>To decrypt, with the card plugged in or the secret key in GnuPG: <code>gpg --decrypt-files NAME%s</code> (or <code>gpg -o NAME -d NAME%s</code>).</p></section>\n",
		html.EscapeString(n.suffix), html.EscapeString(n.suffix))
}

// writeFolderActions writes the line under the breadcrumbs that offers
// the whole folder as one download: buttons of a form, which crawlers do
// not submit, so a mirror does not fetch the share again as archives. The
// empty form "z" is the one the folder rows' zip buttons submit.
func writeFolderActions(b pageWriter, sums, signed bool) {
	b.WriteString(`<form class="dl" method="get">Whole folder: <button name="zip">.zip</button> <button name="tar.gz">.tar.gz</button>`)
	if sums {
		b.WriteString(` <button name="sha256">SHA256SUMS</button>`)
	}
	if sums && signed {
		b.WriteString(` <a href="?sha256&amp;sig" rel="nofollow">SHA256SUMS signature</a>`)
	}
	b.WriteString("</form><form id=\"z\" method=\"get\"></form>\n")
}

// writeRow writes one table row. The link is relative to the folder and
// percent-encoded byte for byte; the text is the escaped display name.
func writeRow(b pageWriter, e sharefs.Entry, signed bool) {
	href := escapeSegment(e.Name)
	label := html.EscapeString(displayName(e.Name))
	if e.IsDir {
		fmt.Fprintf(b, "<tr class=\"d\"><td class=\"n\"><a href=\"%s/\">%s/</a></td><td class=\"s\"><button class=\"z\" form=\"z\" formaction=\"%s/\" name=\"zip\" title=\"download the folder as .zip\">zip</button></td>", href, label, href)
	} else {
		fmt.Fprintf(b, "<tr class=\"f %s\"><td class=\"n\"><a href=\"%s\">%s</a></td>", kindOf(e.Name), href, label)
		if e.Size >= 0 {
			fmt.Fprintf(b, "<td class=\"s\" title=\"%d bytes\">%s", e.Size, humanSize(e.Size))
		} else {
			b.WriteString("<td class=\"s\" title=\"size unknown\">?")
		}
		if signed {
			writeSigLink(b, href)
		}
		b.WriteString("</td>")
	}
	// The script shows the time relative, with this absolute one on hover.
	t := e.ModTime
	fmt.Fprintf(b, "<td class=\"m\"><time datetime=\"%s\">%s</time></td></tr>\n",
		t.UTC().Format(time.RFC3339), t.Format("2006-01-02 15:04"))
}

// kinds maps file extensions to the badge a row shows.
var kinds = map[string]string{}

func init() {
	for kind, exts := range map[string]string{
		"img": "png jpg jpeg gif webp svg bmp ico tif tiff heic avif",
		"vid": "mp4 mkv webm mov avi m4v mpg mpeg",
		"aud": "mp3 flac ogg opus wav m4a aac",
		"arc": "zip tar gz tgz bz2 xz zst 7z rar iso dmg deb rpm",
		"doc": "pdf doc docx odt xls xlsx ods ppt pptx odp epub",
		"txt": "txt md rst csv log json yaml yml toml xml ini conf",
		"src": "go c h cc cpp rs py js ts java kt rb sh pl php html css sql",
		"key": "gpg asc pgp pem pub sig",
	} {
		for ext := range strings.FieldsSeq(exts) {
			kinds["."+ext] = kind
		}
	}
}

// kindOf is the badge class of a file name ("file" when unknown).
func kindOf(name string) string {
	if k, ok := kinds[strings.ToLower(path.Ext(name))]; ok {
		return k
	}
	return "file"
}

// writeFooter writes the counts, the FTP address and commands that fetch
// the folder from a terminal. The page is cached for every client, so
// the script fills in the address the client used; without script the
// commands show a placeholder.
func writeFooter(b pageWriter, p pageData, dirs, files int) {
	b.WriteString("<footer>")
	fmt.Fprintf(b, "<p>%s, %s</p>", plural(dirs, "folder"), plural(files, "file"))
	u := p.base + folderURL(p.dir)
	if p.ftpPort != 0 {
		// Shown decoded, as FTP clients take it and people read it.
		ftp := fmt.Sprintf("ftp://HOSTNAME:%d%s", p.ftpPort, displayName(strings.TrimSuffix("/"+p.dir, "/")+"/"))
		fmt.Fprintf(b, "<p>Also over FTP: <code data-cmd=\"%s\">%s</code></p>",
			html.EscapeString(ftp), html.EscapeString(strings.ReplaceAll(ftp, "HOSTNAME", "HOST")))
	}
	for _, cmd := range []string{
		"curl -fOJ 'ORIGIN" + u + "?zip'",
		"wget -r -l inf -np -nH -R 'index.html*' 'ORIGIN" + u + "'",
	} {
		shown := strings.ReplaceAll(cmd, "ORIGIN", "http://HOST:PORT")
		fmt.Fprintf(b, "<p><code data-cmd=\"%s\">%s</code></p>", html.EscapeString(cmd), html.EscapeString(shown))
	}
	writeSigningFooter(b, p.signing, p.base, u)
	b.WriteString("</footer>\n")
}
