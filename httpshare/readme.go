package httpshare

import (
	"bytes"
	"html"
	"io"
	"log/slog"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"example.com/share/sharefs"
)

// readmeNames are the files shown under a folder's listing, first found
// wins; only the Markdown ones are rendered, the last as plain text.
var readmeNames = []string{"README.md", "readme.md", "Readme.md", "README.markdown", "README"}

// readmeMaxBytes bounds what is read of a README.
const readmeMaxBytes = 256 << 10

// markdown renders GitHub-flavoured Markdown. goldmark leaves raw HTML
// out and drops javascript: and similar links unless told otherwise, so
// a shared README cannot run script on the page.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// renderReadme renders the folder's README as safe HTML, or returns nil
// when there is none or it cannot be read.
func renderReadme(view sharefs.View, dir string, entries []sharefs.Entry, log *slog.Logger) []byte {
	name := findReadme(entries)
	if name == "" {
		return nil
	}
	f, err := view.Open(joinName(dir, name))
	if err != nil {
		return nil
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, readmeMaxBytes))
	if err != nil {
		log.Warn("README unreadable", "path", joinName(dir, name), "err", err)
		return nil
	}
	var out bytes.Buffer
	out.WriteString("<h2 class=\"rm\">" + html.EscapeString(name) + "</h2>")
	if name == "README" {
		out.WriteString("<pre>" + html.EscapeString(string(bytes.ToValidUTF8(src, []byte("\uFFFD")))) + "</pre>")
		return out.Bytes()
	}
	if err := markdown.Convert(src, &out); err != nil {
		log.Warn("README not rendered", "path", joinName(dir, name), "err", err)
		return nil
	}
	return out.Bytes()
}

// findReadme picks the README among a folder's files.
func findReadme(entries []sharefs.Entry) string {
	for _, want := range readmeNames {
		for _, e := range entries {
			if !e.IsDir && e.Name == want {
				return want
			}
		}
	}
	return ""
}
