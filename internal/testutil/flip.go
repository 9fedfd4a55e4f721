package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Secret is the content of every file a FlipTree hides; a server that
// ever sends it (or lists SecretName) broke the hidden-file policy.
const (
	Secret     = "SECRET: this must never be served"
	SecretName = "secret-only.txt"
)

// FlipTree makes, in dir, a tree whose names keep changing under the
// server while a test asks for them:
//
//	.private/file.txt, .private/secret-only.txt   (hidden: Secret)
//	pubdir/file.txt                               ("public")
//	pub        turns by turns: the folder pubdir renamed, nothing, a link to .private
//	f.txt      a link whose target flips between pubdir/file.txt and .private/file.txt
//
// The flipping runs until the test ends. Asking for pub/file.txt, f.txt
// or the listing of pub/ must give the public file, a 404, or the
// public listing, never the secret.
func FlipTree(t testing.TB, dir string) {
	t.Helper()
	for rel, body := range map[string]string{
		".private/file.txt": Secret, ".private/" + SecretName: Secret, "pubdir/file.txt": "public",
	} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		flip(dir, stop)
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
}

// flip changes the tree until stop, bounded to a minute in any case.
func flip(dir string, stop <-chan struct{}) {
	j := func(name string) string { return filepath.Join(dir, name) }
	link := func(target, name string) {
		_ = os.Remove(j("tmp-link"))
		if os.Symlink(target, j("tmp-link")) == nil {
			_ = os.Rename(j("tmp-link"), j(name))
		}
	}
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		select {
		case <-stop:
			return
		default:
		}
		switch i % 4 {
		case 0:
			_ = os.Rename(j("pubdir"), j("pub"))
			link("pubdir/file.txt", "f.txt")
		case 1:
			_ = os.Rename(j("pub"), j("pubdir"))
		case 2:
			link(".private", "pub")
			link(".private/file.txt", "f.txt")
		case 3:
			_ = os.Remove(j("pub"))
		}
	}
}

// ShowsSecret reports whether an answer holds a FlipTree secret: the
// hidden file's content or a hidden name.
func ShowsSecret(answer []byte) bool {
	s := string(answer)
	return strings.Contains(s, Secret) || strings.Contains(s, SecretName)
}
