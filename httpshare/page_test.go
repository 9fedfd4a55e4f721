package httpshare

import (
	"encoding/json"
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

var (
	styleRE  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	scriptRE = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	rowRE    = regexp.MustCompile(`<tr class="[^"]*"><td class="n"><a href="([^"]*)"`)
)

// TestPageCSPMatchesInline: the page's only style and script are the
// ones its Content-Security-Policy allows by hash.
func TestPageCSPMatchesInline(t *testing.T) {
	ts := startFixture(t)
	resp, page := doRequest(t, "GET", ts.URL+"/sub%20dir/")
	csp := resp.Header.Get("Content-Security-Policy")
	styles := styleRE.FindAllSubmatch(page, -1)
	scripts := scriptRE.FindAllSubmatch(page, -1)
	if len(styles) != 1 || len(scripts) != 1 {
		t.Fatalf("%d styles, %d scripts; want one each", len(styles), len(scripts))
	}
	for _, want := range []string{"style-src " + cspHash(string(styles[0][1])), "script-src " + cspHash(string(scripts[0][1]))} {
		if !strings.Contains(csp, want+";") {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{" style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("page holds %q, which the CSP would block", bad)
		}
	}
}

// rowOrder is the hrefs of a page's rows, in order.
func rowOrder(page []byte) []string {
	var out []string
	for _, m := range rowRE.FindAllSubmatch(page, -1) {
		if string(m[1]) != "../" {
			out = append(out, string(m[1]))
		}
	}
	return out
}

func TestServerSideSort(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, f := range []struct {
		name string
		size int
	}{{"b.txt", 30}, {"a.txt", 10}, {"c.txt", 20}, {"z-dir/", 0}, {"y-dir/", 0}} {
		p := filepath.Join(dir, f.name)
		var err error
		if strings.HasSuffix(f.name, "/") {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, make([]byte, f.size), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Times run against names: a is newest among files.
		mt := base.Add(time.Duration(10-i) * time.Hour)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"y-dir/", "z-dir/", "a.txt", "b.txt", "c.txt"}},
		{"?sort=name&order=desc", []string{"z-dir/", "y-dir/", "c.txt", "b.txt", "a.txt"}},
		{"?sort=size", []string{"y-dir/", "z-dir/", "a.txt", "c.txt", "b.txt"}},
		{"?sort=size&order=desc", []string{"y-dir/", "z-dir/", "b.txt", "c.txt", "a.txt"}},
		{"?sort=time", []string{"y-dir/", "z-dir/", "c.txt", "a.txt", "b.txt"}},
		{"?sort=time&order=desc", []string{"z-dir/", "y-dir/", "b.txt", "a.txt", "c.txt"}},
		{"?sort=bogus", []string{"y-dir/", "z-dir/", "a.txt", "b.txt", "c.txt"}},
	} {
		_, page := doRequest(t, "GET", ts.URL+"/"+c.query)
		if got := rowOrder(page); !slices.Equal(got, c.want) {
			t.Errorf("%q: rows %v, want %v", c.query, got, c.want)
		}
		_, body := doRequest(t, "GET", ts.URL+"/"+c.query+map[bool]string{true: "?", false: "&"}[c.query == ""]+"format=json")
		var entries []jsonEntry
		if err := json.Unmarshal(body, &entries); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name
			if e.IsDir {
				n += "/"
			}
			names = append(names, n)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("%q JSON: %v, want %v", c.query, names, c.want)
		}
	}
	// The header button of the current column reverses it.
	_, page := doRequest(t, "GET", ts.URL+"/?sort=size")
	if !strings.Contains(string(page), `<th class="s" aria-sort="ascending"><form method="get"><button name="sort" value="size" data-sort="size" data-order="desc">Size</button><input type="hidden" name="order" value="desc"></form></th>`) {
		t.Error("size header does not offer the descending order")
	}
}

func TestReadmeRenderedSafely(t *testing.T) {
	dir := t.TempDir()
	readme := "# Hello share\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <b>\n```\n\n" +
		"<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	_, page := doRequest(t, "GET", ts.URL+"/")
	s := string(page)
	for _, want := range []string{"<h1", "Hello share", "<table>", "<td>1</td>", "code &lt;b&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("README rendering lacks %q", want)
		}
	}
	section := s[strings.Index(s, `<section class="readme"`):]
	section = section[:strings.Index(section, "</section>")]
	for _, bad := range []string{"<script", "onerror", "javascript:", "<img"} {
		if strings.Contains(section, bad) {
			t.Errorf("README section holds %q:\n%s", bad, section)
		}
	}
	// A change to the README shows at once.
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, page = doRequest(t, "GET", ts.URL+"/")
		if strings.Contains(string(page), "Changed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("README change never shown")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestFooterCommands(t *testing.T) {
	ts := startFixture(t)
	_, page := doRequest(t, "GET", ts.URL+"/sub%20dir/")
	s := string(page)
	for _, want := range []string{
		`<code data-cmd="ftp://HOSTNAME:2121/sub dir/">ftp://HOST:2121/sub dir/</code>`,
		`data-cmd="curl -fOJ &#39;ORIGIN/sub%20dir/?zip&#39;"`,
		`wget -r -l inf -np -nH -R &#39;index.html*&#39; &#39;ORIGIN/sub%20dir/&#39;`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("footer lacks %s", want)
		}
	}
	// The FTP address is shown as people read it, not percent-encoded.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "Tài liệu"), 0o755); err != nil {
		t.Fatal(err)
	}
	uni := startServer(t, shareView(t, dir, false), nil)
	_, page = doRequest(t, "GET", uni.URL+"/T%C3%A0i%20li%E1%BB%87u/")
	if want := `>ftp://HOST:2121/Tài liệu/</code>`; !strings.Contains(string(page), want) {
		t.Errorf("footer lacks %s", want)
	}
}

// TestFooterCommandsWork runs the footer's curl and wget commands, as a
// coworker would paste them, and compares what they fetched.
func TestFooterCommandsWork(t *testing.T) {
	testutil.NeedTool(t, "curl")
	testutil.NeedTool(t, "wget")
	testutil.NeedTool(t, "sh")
	ts := startFixture(t)
	_, page := doRequest(t, "GET", ts.URL+"/sub%20dir/")
	cmds := regexp.MustCompile(`data-cmd="((?:curl|wget) [^"]*)"`).FindAllSubmatch(page, -1)
	if len(cmds) != 2 {
		t.Fatalf("%d commands on the page", len(cmds))
	}
	work := t.TempDir()
	for _, m := range cmds {
		cmd := strings.ReplaceAll(html.UnescapeString(string(m[1])), "ORIGIN", ts.URL)
		sh := exec.Command("sh", "-c", cmd+" 2>&1")
		sh.Dir = work
		if out, err := sh.Output(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
	for p, want := range map[string]string{
		"sub dir/inner.txt":    "inner\n",
		"sub dir/deeper/x.txt": "deeper\n",
	} {
		got, err := os.ReadFile(filepath.Join(work, p))
		if err != nil || string(got) != want {
			t.Errorf("wget fetched %s: %q %v", p, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "sub dir.zip")); err != nil {
		t.Errorf("curl -OJ saved no sub dir.zip: %v", err)
	}
	// The folder's SHA256SUMS verifies the mirror.
	_, sums := doRequest(t, "GET", ts.URL+"/sub%20dir/?sha256")
	check := exec.Command(testutil.NeedTool(t, "sha256sum"), "-c", "--strict", "-")
	check.Dir = filepath.Join(work, "sub dir")
	check.Stdin = strings.NewReader(string(sums))
	if out, err := check.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
		t.Errorf("sha256sum -c on the mirror: %v\n%s", err, out)
	}
	// Nothing else: no pages, no sorted or archive variants.
	_ = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.ContainsAny(filepath.Base(p), "?=") || strings.HasPrefix(filepath.Base(p), "index.html")) {
			t.Errorf("wget also saved %s", p)
		}
		return nil
	})
}

// TestReadmeVariants: a plain README is shown as text, escaped, and
// README.md wins over it; a README in a sub-folder shows there only.
func TestReadmeVariants(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("plain <b>text</b>\n\xff\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "readme.md"), []byte("# Sub notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	_, page := doRequest(t, "GET", ts.URL+"/")
	if !strings.Contains(string(page), "<pre>plain &lt;b&gt;text&lt;/b&gt;\n\uFFFD\n</pre>") {
		t.Error("plain README not shown as escaped text")
	}
	_, page = doRequest(t, "GET", ts.URL+"/sub/")
	if !strings.Contains(string(page), "<h1>Sub notes</h1>") || strings.Contains(string(page), "plain &lt;b&gt;") {
		t.Error("sub-folder page shows the wrong README")
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# Markdown wins\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventuallyPage(t, ts.URL+"/", "<h1>Markdown wins</h1>")
}

// eventuallyPage polls (bounded) until the page holds text.
func eventuallyPage(t *testing.T, url, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, page := doRequest(t, "GET", url)
		if strings.Contains(string(page), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q", url, text)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestErrorPages: browsers get the page's style and a link to the
// nearest folder that exists; other clients one plain line; refused and
// missing paths the same answer.
func TestErrorPages(t *testing.T) {
	ts := startFixture(t)
	const html = "text/html,application/xhtml+xml,*/*;q=0.8"
	resp, body := doRequest(t, "GET", ts.URL+"/sub%20dir/missing/x.txt", "Accept", html)
	page := string(body)
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		resp.Header.Get("Content-Security-Policy") != pageCSP {
		t.Errorf("404 for a browser: %d %q", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{`<a href="/sub%20dir/">Go to /sub dir/</a>`, pageCSS, `<nav class="crumbs"`, "<h1>Nothing here</h1>"} {
		if !strings.Contains(page, want) {
			t.Errorf("404 page lacks %.60q:\n%.400s", want, page)
		}
	}
	_, hidden := doRequest(t, "GET", ts.URL+"/.hiddendir/secret.txt", "Accept", html)
	_, missing := doRequest(t, "GET", ts.URL+"/nothere/secret.txt", "Accept", html)
	if string(hidden) != string(missing) || !strings.Contains(string(missing), `<a href="/">`) {
		t.Error("a hidden folder's 404 differs from a missing one's")
	}
	resp, body = doRequest(t, "DELETE", ts.URL+"/hello.txt", "Accept", html)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" || !strings.Contains(string(body), "<h1>Read-only</h1>") {
		t.Errorf("405 for a browser: %d %.200s", resp.StatusCode, body)
	}
	resp, body = doRequest(t, "GET", ts.URL+"/sub%20dir/missing")
	if resp.StatusCode != 404 || string(body) != notFoundBody {
		t.Errorf("404 for a program: %d %q", resp.StatusCode, body)
	}
	// A name the share does not answer to: the page names it and the
	// option, and links to the address the request reached, not into
	// the share.
	out, err := exec.Command(testutil.NeedTool(t, "curl"), "-sS", "-w", "\n%{http_code}", "-H", "Host: evil.example:80",
		"-H", "Accept: "+html, ts.URL+"/sub%20dir/").Output()
	if err != nil {
		t.Fatalf("curl with a foreign Host: %v", err)
	}
	page, ok := strings.CutSuffix(string(out), "\n421")
	if !ok {
		t.Errorf("foreign Host: not a 421: %q", out[max(0, len(out)-100):])
	}
	for _, want := range []string{"<h1>Wrong address</h1>", "evil.example", "--public-host", `<a href="` + ts.URL + `/">`, pageCSS} {
		if !strings.Contains(page, want) {
			t.Errorf("421 page lacks %.60q:\n%.400s", want, page)
		}
	}
	if strings.Contains(page, "sub dir") {
		t.Error("421 page shows the share's folders")
	}
}
