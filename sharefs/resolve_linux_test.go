package sharefs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeepNameHoldsFewFolders: resolving a name 1000 deep holds no more
// than the folders it may keep open, not one descriptor per folder on
// the way (each request asked for that many: 64 connections of one
// client at once, more than the process may open), also through a link
// whose target climbs above them all.
func TestDeepNameHoldsFewFolders(t *testing.T) {
	dir := t.TempDir()
	const n = 1000
	deep := strings.Repeat("a/", n)
	if err := os.MkdirAll(filepath.Join(dir, deep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, deep, "f"), []byte("bottom"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The bottom's up leads back to the top a.
	if err := os.Symlink(strings.Repeat("../", n)+"a", filepath.Join(dir, deep, "up")); err != nil {
		t.Fatal(err)
	}
	d, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{deep + "f", deep + "up/" + deep[2:] + "f"} {
		before := openFiles(t)
		held := 0
		ok := d.find(name, nil, func(s spot) (bool, func()) {
			held = openFiles(t) - before
			return s.info.Mode().IsRegular(), nil
		})
		depth := strings.Count(name, "/")
		if !ok {
			t.Fatalf("%d-deep name not found", depth)
		}
		// The kept folders, the inotify descriptor, and a little slack.
		if held > maxHeldDirs+8 {
			t.Errorf("resolving a %d-deep name held %d descriptors", depth, held)
		}
	}
}

// openFiles counts the process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
