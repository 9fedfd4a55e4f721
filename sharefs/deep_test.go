package sharefs

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"example.com/share/internal/testutil"
)

// TestDeepChainCostsItsLength: the first walk of a chain of folders
// 1000 deep (as ?zip, ?tar.gz and ?sha256 make), also behind a link,
// looks up a bounded number of elements per folder, and allocates in
// proportion to the bytes of the paths it lists (each as long as its
// depth), not a power more. Each listing used to resolve every folder
// above it anew, each from the root: the first ?zip of a chain 400 deep
// took seconds of CPU, and one 2000 deep did not end in a minute. Work
// is counted, not timed: a chain ten times as deep must cost about ten
// times the lookups and a hundred times the bytes, where a cubic cost
// would be a thousand.
func TestDeepChainCostsItsLength(t *testing.T) {
	for _, link := range []bool{false, true} {
		looks100, bytes100 := walkCost(t, 100, link)
		looks1000, bytes1000 := walkCost(t, 1000, link)
		t.Logf("link %v: depth 100: %d lookups, %d bytes; depth 1000: %d lookups, %d bytes", link, looks100, bytes100, looks1000, bytes1000)
		if looks1000 > 10*1000 {
			t.Errorf("link %v: walking 1000 folders looked up %d elements, over 10 a folder", link, looks1000)
		}
		if r := float64(bytes1000) / float64(bytes100); r > 250 {
			t.Errorf("link %v: a chain 10 times as deep allocated %.0f times the bytes (quadratic is 100)", link, r)
		}
	}
}

// walkCost makes a chain of n one-letter folders with a file at the
// bottom, walks it once with a new Dir (through a link to its top when
// link is set), checks that the walk saw every folder, and returns the
// elements it looked up and the bytes it allocated.
func walkCost(t *testing.T, n int, link bool) (lookups, bytes int64) {
	t.Helper()
	dir := t.TempDir()
	chain := filepath.Join(dir, strings.Repeat("a"+string(filepath.Separator), n))
	if err := os.MkdirAll(chain, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chain, "f"), []byte("bottom"), 0o644); err != nil {
		t.Fatal(err)
	}
	top := ""
	if link {
		top = "l"
		if err := os.Symlink("a", filepath.Join(dir, top)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.watcher() == nil {
		testutil.Skip(t, "no change notification on "+runtime.GOOS+" here: no folder is kept open, each listing resolves from the root")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	seen := 0
	err = Walk(context.Background(), d, top, func(rel string, e Entry) error {
		seen++
		return nil
	})
	runtime.ReadMemStats(&after)
	if want := n + 2 - len(top); err != nil || seen != want {
		t.Fatalf("walk of a chain %d deep: %d entries, %v", n, seen, err)
	}
	return d.lookups.Load(), int64(after.TotalAlloc - before.TotalAlloc)
}

// TestListDropsLinksUpTheWay: a listing leaves out links to a folder on
// the way to it, or above one, also when that way passes through links
// (p -> x/y, then q -> ../../w/v): where each element of the name led is
// remembered in one resolution, not only the folder listed.
func TestListDropsLinksUpTheWay(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"x/y", "x/other", "w/v"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"p": "x/y", "x/y/q": "../../w/v",
		"w/v/up-x": "../../x", "w/v/up-w": "..", "w/v/self": ".", "w/v/sibling": "../../x/other",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"p/q", "x/y/q", "w/v"} {
		want := []string{"sibling"}
		if name == "w/v" {
			want = []string{"sibling", "up-x"} // x is not on the way to w/v
		}
		entries, err := d.List(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(entries); !slices.Equal(got, want) {
			t.Errorf("List(%q) = %v, want %v", name, got, want)
		}
	}
}
