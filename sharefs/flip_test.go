package sharefs

import (
	"io"
	"slices"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// TestLinkFlipsNeverServeHidden: while links and folders on the way are
// swapped all the time, what Open and List give is what the policy
// approved: never a hidden file's content or names.
func TestLinkFlipsNeverServeHidden(t *testing.T) {
	dir := t.TempDir()
	testutil.FlipTree(t, dir)
	d, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	served := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		for _, name := range []string{"pub/file.txt", "f.txt"} {
			f, err := d.Open(name)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(f)
			f.Close()
			served++
			if string(b) == testutil.Secret {
				t.Fatalf("%s served the hidden file", name)
			}
		}
		if entries, err := d.List("pub"); err == nil && slices.ContainsFunc(entries, func(e Entry) bool { return e.Name == testutil.SecretName }) {
			t.Fatalf("pub/ listed the hidden folder: %v", entries)
		}
	}
	if served == 0 {
		t.Fatal("nothing was ever served: the test proves nothing")
	}
	t.Logf("%d files served under flips", served)
}
