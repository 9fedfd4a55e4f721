package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// TestReadme checks what a newcomer trips on: a quick start that needs
// sudo, pointers outside the repository, links to missing files, and
// the recursive download line, which it runs.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "sudo ") {
			t.Errorf("README line needs sudo, which root does not have: %q", line)
		}
	}
	for _, outside := range []string{"steering", "DESIGN.md", "SHA256SUMS` is not offered"} {
		if strings.Contains(readme, outside) {
			t.Errorf("README mentions %q", outside)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("README links to %s: %v", m[1], err)
		}
	}
	line := regexp.MustCompile(`(?m)^(wget -r [^#\n]*?http://\S+)`).FindStringSubmatch(readme)
	if line == nil {
		t.Fatal("README shows no recursive download line")
	}
	testutil.NeedTool(t, "wget")
	src := writeTree(t, crawlTree)
	r := startShare(t, nil, src, "--no-ftp", "--http", "127.0.0.1:0")
	cmd := regexp.MustCompile(`http://\S+`).ReplaceAllString(line[1], r.url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	work := t.TempDir()
	sh := exec.CommandContext(ctx, "sh", "-c", cmd+" 2>&1")
	sh.Dir = work
	if out, err := sh.Output(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	checkMirrored(t, work, src)
	if _, err := os.Stat(filepath.Join(work, "index.html")); err == nil {
		t.Error("the README's line leaves index.html behind")
	}
}
