package httpshare

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserArchivesWithoutScript: with script off, one click on the
// page's buttons downloads the folder as .zip or .tar.gz, and a folder
// row's zip button that folder; the crawlers that never submit forms
// (TestCrawlersFetchEachFileOnce) leave them alone.
func TestBrowserArchivesWithoutScript(t *testing.T) {
	ts := startServer(t, shareView(t, browserFolder(t), false), nil)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	saved := t.TempDir()
	downloads := watchDownloads(t, ctx, saved)
	root := []string{"README.md", "big.txt", "emoji 🎉 #1?.txt", "middle.txt", "small.txt", "sub/inner.txt"}
	for _, tc := range []struct {
		button string
		read   func(*testing.T, string) ([]archEntry, error)
		want   []string
	}{
		{`form.dl button[name="zip"]`, readZipFile, root},
		{`form.dl button[name="tar.gz"]`, readTarGzFile, root},
		{`tr.d button.z`, readZipFile, []string{"inner.txt"}},
	} {
		do(t, ctx, "open the listing", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("table.list")))
		do(t, ctx, "click "+tc.button, chromedp.Click(chromedp.CSS(tc.button)))
		file := downloads.next(t, tc.button)
		entries, err := tc.read(t, file)
		if err != nil {
			t.Fatalf("%s: the download is no archive: %v", tc.button, err)
		}
		var names []string
		for _, e := range entries {
			if !e.isDir {
				names = append(names, stripTop(e.rel))
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("%s: archive holds %q, want %q", tc.button, names, tc.want)
		}
	}
}

// stripTop drops an archive's top folder from a name.
func stripTop(rel string) string {
	if _, rest, ok := strings.Cut(rel, "/"); ok {
		return rest
	}
	return rel
}

// downloadWatch hands over the browser's finished downloads one by one.
type downloadWatch struct {
	dir  string
	mu   sync.Mutex
	done []string // GUIDs of finished downloads, not yet handed over
}

// watchDownloads lets the browser save downloads into dir, each under its
// GUID, and reports them as they finish.
func watchDownloads(t *testing.T, ctx context.Context, dir string) *downloadWatch {
	t.Helper()
	w := &downloadWatch{dir: dir}
	err := chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && e.State == cdpbrowser.DownloadProgressStateCompleted {
			w.mu.Lock()
			w.done = append(w.done, e.GUID)
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	events := true
	params := cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, params); err != nil {
		t.Fatal(err)
	}
	return w
}

// next waits for the next finished download and returns its file.
func (w *downloadWatch) next(t *testing.T, what string) string {
	t.Helper()
	for deadline := time.Now().Add(stepTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		w.mu.Lock()
		if len(w.done) > 0 {
			guid := w.done[0]
			w.done = w.done[1:]
			w.mu.Unlock()
			return filepath.Join(w.dir, guid)
		}
		w.mu.Unlock()
	}
	t.Fatalf("%s: no download finished", what)
	return ""
}
