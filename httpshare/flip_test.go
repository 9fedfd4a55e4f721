package httpshare

import (
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// TestLinkFlipsOverHTTP: downloads and listings while links and folders
// on the way are swapped never show a hidden file's content or names.
func TestLinkFlipsOverHTTP(t *testing.T) {
	dir := t.TempDir()
	testutil.FlipTree(t, dir)
	ts := startServer(t, shareView(t, dir, false), nil)
	served := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		for _, p := range []string{"/pub/file.txt", "/f.txt", "/pub/?format=json"} {
			resp, body := doRequest(t, "GET", ts.URL+p)
			if resp.StatusCode != 200 {
				continue
			}
			served++
			if testutil.ShowsSecret(body) {
				t.Fatalf("%s showed the hidden folder: %q", p, body)
			}
		}
	}
	if served == 0 {
		t.Fatal("nothing was ever served: the test proves nothing")
	}
	t.Logf("%d answers under flips", served)
}
