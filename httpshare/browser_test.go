package httpshare

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"example.com/share/internal/testutil"
)

// browserFolder is a small share for the browser: files of distinct
// sizes, a folder, an awkward name and a README that tries to run script.
func browserFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]int{"small.txt": 10, "big.txt": 3000, "middle.txt": 200, "emoji 🎉 #1?.txt": 42, "sub/inner.txt": 5}
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	readme := "# Shared notes\n\n<script>window.pwned = 1</script>\n\n<img src=x onerror=\"window.pwned = 2\">\n\n[link](javascript:window.pwned=3)\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless Chromium for the test, with a fresh profile
// and nothing that phones home.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chromium := testutil.NeedTool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 800),
	}
	opts = append(opts, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// Start the browser on the long-lived context, so that the short
	// time-outs of single steps do not close it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// stepTimeout bounds one browser step, so a broken page fails fast.
const stepTimeout = 60 * time.Second

// consoleLog gathers what the page writes to the console.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// problems are the errors, exceptions and policy warnings seen so far.
func (c *consoleLog) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException ||
			(m.Type == chromedp.ConsoleWarning && strings.Contains(m.Text, "Content Security Policy")) {
			out = append(out, string(m.Type)+": "+m.Text)
		}
	}
	return out
}

// cspWatch records every securitypolicyviolation event of every page;
// the browser runs it outside the page's policy.
const cspWatch = `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});`

// visibleRows lists the names of the shown rows, in order.
const visibleRows = `Array.from(document.querySelectorAll("table.list tbody tr:not(.up)"))
  .filter(function (r) { return !r.hidden; })
  .map(function (r) { return r.cells[0].querySelector("a").textContent; })`

// shownCopyButtons counts the copy buttons not fully transparent.
const shownCopyButtons = `Array.from(document.querySelectorAll("button.cp"))
  .filter(function (b) { return getComputedStyle(b).opacity !== "0"; }).length`

// headerOffsets measures, in px, how far each header is from the cell
// it names in the first row: name and time by left edge, size by right
// edge, and whether time and size headers share a line as in the row.
const headerOffsets = `(function () {
  var row = document.querySelector("table.list tbody tr:not(.up)");
  function box(s, root) { return (root || document).querySelector(s).getBoundingClientRect(); }
  var hn = box("th.n"), hm = box("th.m"), hs = box("th.s");
  var rn = box("td.n", row), rm = box("td.m", row), rs = box("td.s", row);
  return {n: Math.round(hn.left - rn.left), m: Math.round(hm.left - rm.left),
    s: Math.round(hs.right - rs.right), line: Math.round((hm.top - hs.top) - (rm.top - rs.top))};
})()`

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestBrowserWithScript(t *testing.T) {
	ts := startServer(t, shareView(t, browserFolder(t), false), nil)
	ctx := newBrowser(t)
	console := watchConsole(ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open the listing", chromedp.Navigate(ts.URL+"/"))
	wctx, wcancel := context.WithTimeout(ctx, stepTimeout)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.ID("filter"))); err != nil {
		t.Fatalf("the script did not show the filter box: %v\n%s", err, strings.Join(console.problems(), "\n"))
	}
	if ph := run(t, ctx, "placeholder", chromedp.Evaluate[string](`document.getElementById("filter").placeholder`)); ph != "Filter" {
		t.Errorf("filter placeholder %q, want a plain one", ph)
	}

	rows := run(t, ctx, "rows", chromedp.Evaluate[[]string](visibleRows))
	want := []string{"sub/", "big.txt", "emoji 🎉 #1?.txt", "middle.txt", "README.md", "small.txt"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if n := run(t, ctx, "copy buttons", chromedp.Evaluate[int](`document.querySelectorAll("button.cp").length`)); n != len(want) {
		t.Errorf("%d copy-link buttons for %d rows", n, len(want))
	}
	// No clutter: a row's copy button shows only while the row is pointed at.
	if n := run(t, ctx, "copy buttons shown", chromedp.Evaluate[int](shownCopyButtons)); n != 0 {
		t.Errorf("%d copy buttons shown with no row pointed at", n)
	}
	at := run(t, ctx, "a row's place", chromedp.Evaluate[[]float64](`(function () { var b = document.querySelector('a[href="big.txt"]').getBoundingClientRect(); return [b.left + 5, b.top + b.height / 2]; })()`))
	do(t, ctx, "point at a row", chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]))
	if n := run(t, ctx, "copy buttons shown", chromedp.Evaluate[int](shownCopyButtons)); n != 1 {
		t.Errorf("%d copy buttons shown with one row pointed at, want 1", n)
	}
	if s := run(t, ctx, "relative time", chromedp.Evaluate[string](`document.querySelector("tbody time").textContent`)); !strings.Contains(s, "ago") && s != "just now" {
		t.Errorf("time shows %q, want a relative time", s)
	}
	if v := run(t, ctx, "README script", chromedp.Evaluate[string](`String(window.pwned) + "|" + document.querySelector(".readme h1").textContent`)); v != "undefined|Shared notes" {
		t.Errorf("README: %q", v)
	}

	do(t, ctx, "sort by size", chromedp.Click(chromedp.CSS("th.s button")))
	rows = run(t, ctx, "rows by size", chromedp.Evaluate[[]string](visibleRows))
	if want := []string{"sub/", "small.txt", "emoji 🎉 #1?.txt", "README.md", "middle.txt", "big.txt"}; !slices.Equal(rows, want) {
		t.Errorf("by size: %q, want %q", rows, want)
	}
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/?sort=size") {
		t.Errorf("location after sort: %s", loc)
	}
	do(t, ctx, "sort by size, descending", chromedp.Click(chromedp.CSS("th.s button")))
	rows = run(t, ctx, "rows by size desc", chromedp.Evaluate[[]string](visibleRows))
	if rows[1] != "big.txt" || rows[len(rows)-1] != "small.txt" {
		t.Errorf("by size, descending: %q", rows)
	}

	do(t, ctx, "filter", chromedp.SendKeys(chromedp.ID("filter"), "EMOJI"))
	rows = run(t, ctx, "filtered rows", chromedp.Evaluate[[]string](visibleRows))
	if !slices.Equal(rows, []string{"emoji 🎉 #1?.txt"}) {
		t.Errorf("filtered: %q", rows)
	}
	// The arrow key moves from the filter box to the first shown row.
	do(t, ctx, "arrow down", chromedp.SendKeys(chromedp.ID("filter"), kb.ArrowDown))
	if f := run(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); f != "emoji 🎉 #1?.txt" {
		t.Errorf("arrow down focused %q", f)
	}
	// The copy-link button puts the row's absolute URL on the clipboard.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		params := cdpbrowser.SetPermissionParams{Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: ts.URL}
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, params); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	do(t, ctx, "copy link", chromedp.Click(chromedp.CSS("table.list tbody tr:not([hidden]) button.cp")))
	copied := run(t, ctx, "clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if want := ts.URL + "/emoji%20%F0%9F%8E%89%20%231%3F.txt"; copied != want {
		t.Errorf("copied %q, want %q", copied, want)
	}
	href := run(t, ctx, "file link", chromedp.Evaluate[string](`document.querySelector("table.list tbody tr:not([hidden]) td.n a").href`))
	do(t, ctx, "download", chromedp.Navigate(href))
	if body := run(t, ctx, "downloaded text", chromedp.Evaluate[string](`document.body.innerText`)); strings.TrimSpace(body) != strings.Repeat("x", 42) {
		t.Errorf("downloaded %q", body)
	}

	do(t, ctx, "back to the listing", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
	run(t, ctx, "follow the folder", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`a[href="sub/"]`))))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != ts.URL+"/sub/" {
		t.Errorf("folder link led to %s", loc)
	}
	if v := run(t, ctx, "CSP violations", chromedp.Evaluate[[]string](`window.__csp`)); len(v) != 0 {
		t.Errorf("CSP violations: %q", v)
	}
	if p := console.problems(); len(p) != 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
	// Last: the 404 page among them logs its status to the console.
	screenshots(t, ctx, ts.URL+"/")
}

// TestBrowserCopyLinkOnLAN: on a LAN address, which is no secure
// context, the Clipboard API is missing and the button falls back to a
// selection copy. The name share.test resolves to 127.0.0.1 inside the
// browser only.
func TestBrowserCopyLinkOnLAN(t *testing.T) {
	ts := startServer(t, shareView(t, browserFolder(t), false), nil)
	_, port, _ := strings.Cut(ts.Addr, ":")
	lan := "http://share.test:" + port
	ctx := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP share.test 127.0.0.1"))
	console := watchConsole(ctx)
	do(t, ctx, "open", chromedp.Navigate(lan+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
	if secure := run(t, ctx, "secure context", chromedp.Evaluate[bool](`window.isSecureContext`)); secure {
		t.Fatal("share.test counts as a secure context; the fallback is not exercised")
	}
	do(t, ctx, "copy link", chromedp.Click(chromedp.CSS("button.cp")))
	if label := run(t, ctx, "button", chromedp.Evaluate[string](`document.querySelector("button.cp").textContent`)); label != "copied" {
		t.Errorf("button says %q after the copy", label)
	}
	// Read the clipboard back from an origin that may.
	params := cdpbrowser.SetPermissionParams{Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: ts.URL}
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, params); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open on loopback", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
	if copied := run(t, ctx, "clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); copied != lan+"/sub/" {
		t.Errorf("copied %q, want %q", copied, lan+"/sub/")
	}
	if p := console.problems(); len(p) != 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// screenshots saves the listing light and dark, into
// $HTTPSHARE_SCREENSHOTS when set, and checks the dark one is dark.
func screenshots(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	out := os.Getenv("HTTPSHARE_SCREENSHOTS")
	if out == "" {
		out = t.TempDir()
	}
	for _, scheme := range []string{"light", "dark"} {
		params := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, params); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "open for the screenshot", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("filter")))
		bg := run(t, ctx, "background", chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
		if isDark := bg == "rgb(13, 17, 23)"; isDark != (scheme == "dark") {
			t.Errorf("%s scheme: background %s", scheme, bg)
		}
		png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(out, "page-"+scheme+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A missing file: the page's style, a way back to a folder.
	do(t, ctx, "open a missing file", chromedp.Navigate(url+"sub/no/such.txt"), chromedp.WaitVisible(chromedp.CSS("main.error")))
	if back := run(t, ctx, "way back", chromedp.Evaluate[string](`document.querySelector("main.error a").getAttribute("href")`)); back != "/sub/" {
		t.Errorf("404 page leads to %q, want the nearest folder /sub/", back)
	}
	png404 := run(t, ctx, "404 screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(out, "page-404.png"), png404, 0o644); err != nil {
		t.Fatal(err)
	}
	// A phone: the page must not scroll sideways, the headers sit over
	// what they name, and a touch screen gets no copy buttons.
	do(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("filter")))
	if w := run(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("page is %d px wide on a 390 px phone", w)
	}
	if off := run(t, ctx, "header alignment", chromedp.Evaluate[map[string]float64](headerOffsets)); off["n"] != 0 || off["m"] != 0 || off["s"] != 0 || off["line"] != 0 {
		t.Errorf("phone headers off their rows by %v px (n, m: left edges; s: right edges; line: m and s on one line)", off)
	}
	if n := run(t, ctx, "copy buttons on touch", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("button.cp")).filter(function (b) { return b.offsetParent !== null; }).length`)); n != 0 {
		t.Errorf("%d copy buttons laid out on a touch screen", n)
	}
	png := run(t, ctx, "phone screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(out, "page-phone.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserWithoutScript(t *testing.T) {
	ts := startServer(t, shareView(t, browserFolder(t), false), nil)
	ctx := newBrowser(t)
	console := watchConsole(ctx)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open the listing", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("table.list")))
	html := run(t, ctx, "page", chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(html, `class="cp"`) || !strings.Contains(html, `id="filter"`) {
		t.Error("script ran although disabled")
	}
	run(t, ctx, "sort link", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("th.s button"))))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != ts.URL+"/?sort=size" {
		t.Errorf("sort link led to %s", loc)
	}
	html = run(t, ctx, "sorted page", chromedp.OuterHTML(chromedp.CSS("tbody")))
	got := rowOrder([]byte(html))
	if want := []string{"sub/", "small.txt", "emoji%20%F0%9F%8E%89%20%231%3F.txt", "README.md", "middle.txt", "big.txt"}; !slices.Equal(got, want) {
		t.Errorf("server-sorted rows %q, want %q", got, want)
	}
	run(t, ctx, "folder link", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`a[href="sub/"]`))))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != ts.URL+"/sub/" {
		t.Errorf("folder link led to %s", loc)
	}
	if p := console.problems(); len(p) != 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserLargeFolder: the page of a folder of 10,000 files loads,
// filters and sorts within the step time-out, without console errors.
func TestBrowserLargeFolder(t *testing.T) {
	dir := t.TempDir()
	const n = 10_000
	for i := range n {
		name := filepath.Join(dir, "file-"+strings.Repeat("x", i%7)+"-"+itoa5(i)+".txt")
		if err := os.WriteFile(name, make([]byte, i%1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	ctx := newBrowser(t)
	console := watchConsole(ctx)
	start := time.Now()
	do(t, ctx, "open", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
	t.Logf("open: %v", time.Since(start))
	if got := run(t, ctx, "rows", chromedp.Evaluate[int](visibleRows+".length")); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
	start = time.Now()
	do(t, ctx, "filter", chromedp.SendKeys(chromedp.ID("filter"), "-09999"))
	t.Logf("filter: %v", time.Since(start))
	if got := run(t, ctx, "filtered", chromedp.Evaluate[[]string](visibleRows)); len(got) != 1 {
		t.Errorf("filter kept %d rows", len(got))
	}
	do(t, ctx, "clear", chromedp.SendKeys(chromedp.ID("filter"), "\x1b"))
	ms := run(t, ctx, "in-page sort", chromedp.Evaluate[float64](`(function(){var t=performance.now();document.querySelector("th.s button").click();document.body.offsetHeight;var u=performance.now();document.querySelector("th.n button").click();document.body.offsetHeight;return [u-t, performance.now()-u];})()[0]`))
	t.Logf("in-page sort + layout: %v ms", ms)
	start = time.Now()
	do(t, ctx, "sort by size, twice", chromedp.Click(chromedp.CSS("th.s button")), chromedp.Click(chromedp.CSS("th.s button")))
	t.Logf("sort twice: %v", time.Since(start))
	first := run(t, ctx, "biggest", chromedp.Evaluate[string](visibleRows+"[0]"))
	if !strings.HasSuffix(first, "999.txt") {
		t.Errorf("first row by size, descending: %q", first)
	}
	if p := console.problems(); len(p) != 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

func itoa5(i int) string {
	s := strings.Repeat("0", 5) + strconv.Itoa(i)
	return s[len(s)-5:]
}
