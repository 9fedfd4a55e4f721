package ftpshare

import (
	"io"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// TestLinkFlipsOverFTP: RETR and listings while links and folders on
// the way are swapped never show a hidden file's content or names.
func TestLinkFlipsOverFTP(t *testing.T) {
	dir := t.TempDir()
	testutil.FlipTree(t, dir)
	view, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { view.Close() })
	_, addr := start(t, view, Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	served := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		for _, cmd := range []string{"RETR pub/file.txt", "RETR f.txt", "NLST pub", "MLSD pub"} {
			dc := dialData(t, c.epsv())
			code, _ := c.send(cmd)
			if code != 150 {
				dc.Close()
				continue
			}
			data, _ := io.ReadAll(dc)
			dc.Close()
			if code, _ = c.read(); code != 226 {
				continue
			}
			served++
			if testutil.ShowsSecret(data) {
				t.Fatalf("%s showed the hidden folder: %q", cmd, data)
			}
		}
	}
	if served == 0 {
		t.Fatal("nothing was ever served: the test proves nothing")
	}
	t.Logf("%d transfers under flips", served)
}
