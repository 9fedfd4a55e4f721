package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// crawlTree is a small share: files at three depths, names with spaces
// and accents, and a README whose links point into the share.
var crawlTree = map[string]string{
	"a.txt":                "a\n",
	"sp ace.txt":           "space\n",
	"README.md":            "# Hi\n\nSee [b](sub/b.txt).\n",
	"sub/b.txt":            "b\n",
	"sub/deeper/c.bin":     "c\n",
	"Tài liệu/d.txt":       "d\n",
	"Tài liệu/empty/.keep": "",
}

func writeTree(t *testing.T, tree map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCrawlersFetchEachFileOnce mirrors the share with the plain
// recursive tools, without special flags, and checks in the access log
// that each visible file and folder was fetched exactly once, and no
// archive, checksum or re-sorted listing.
func TestCrawlersFetchEachFileOnce(t *testing.T) {
	src := writeTree(t, crawlTree)
	wantFiles := []string{"/README.md", "/Tài liệu/d.txt", "/a.txt", "/sp ace.txt", "/sub/b.txt", "/sub/deeper/c.bin"}
	wantDirs := []string{"/", "/Tài liệu/", "/Tài liệu/empty/", "/sub/", "/sub/deeper/"}
	for _, tc := range []struct {
		tool string
		args func(url string) []string
	}{
		{"wget", func(url string) []string { return []string{"-q", "-r", "-np", url} }},
		{"wget", func(url string) []string { return []string{"-q", "-m", url} }},
		{"lftp", func(url string) []string { return []string{"-c", "mirror " + url + " out"} }},
	} {
		t.Run(tc.tool+" "+strings.Join(tc.args("URL"), " "), func(t *testing.T) {
			bin := testutil.NeedTool(t, tc.tool)
			r := startShare(t, nil, src, "--no-ftp", "--http", "127.0.0.1:0", "--log-format", "json")
			work := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args(r.url)...)
			cmd.Dir = work
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", tc.tool, err, out)
			}
			r.stop(t, os.Interrupt)
			var files, dirs, other []string
			for _, l := range logLines(t, r.stderr.String()) {
				if l["msg"] != "request" || l["path"] == "/robots.txt" {
					continue
				}
				p := l["path"].(string)
				switch q, _ := l["query"].(string); {
				case l["method"] == "HEAD" && q == "" && tc.tool == "lftp":
					// lftp asks each name's size and date by HEAD: no
					// HTML listing gives it those.
				case l["method"] != "GET" || q != "":
					other = append(other, l["method"].(string)+" "+p+"?"+q)
				case strings.HasSuffix(p, "/"):
					dirs = append(dirs, p)
				default:
					files = append(files, p)
				}
			}
			sort.Strings(files)
			sort.Strings(dirs)
			if !slices.Equal(files, wantFiles) {
				t.Errorf("files fetched %q, want each of %q once", files, wantFiles)
			}
			if !slices.Equal(dirs, wantDirs) {
				t.Errorf("listings fetched %q, want each of %q once", dirs, wantDirs)
			}
			if len(other) > 0 {
				t.Errorf("also fetched %q", other)
			}
			checkMirrored(t, work, src)
		})
	}
}

// checkMirrored checks that every file of src arrived intact somewhere
// under work.
func checkMirrored(t *testing.T, work, src string) {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			got[filepath.ToSlash(p)] = string(b)
		}
		return nil
	})
	for name, body := range crawlTree {
		if strings.HasSuffix(name, ".keep") {
			continue
		}
		found := false
		for p, b := range got {
			if strings.HasSuffix(p, "/"+name) && b == body {
				found = true
			}
		}
		if !found {
			t.Errorf("%s not mirrored intact (have %d files)", name, len(got))
		}
	}
}
