package httpshare

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"example.com/share/internal/testutil"
)

// refusedTargets are request targets that must all be answered exactly
// like a missing file: hidden names, links leading out, and every
// spelling of leaving the folder.
var refusedTargets = []string{
	"/no-such-file",
	"/.hidden.txt",
	"/.hiddendir/",
	"/.hiddendir/secret.txt",
	"/.hiddendir",
	"/sub%20dir/.dotfile",
	"/%2ehidden.txt",
	"/link-outside",
	"/link-relative",
	"/linkdir-outside/",
	"/linkdir-outside/secret.txt",
	"/../outside/secret.txt",
	"/..",
	"/../",
	"/./hello.txt",
	"/sub%20dir/../hello.txt",
	"/%2e%2e/outside/secret.txt",
	"/%2E%2E/outside/secret.txt",
	"/.%2e/outside/secret.txt",
	"/%2e./outside/secret.txt",
	"/%2e/hello.txt",
	"/..%2foutside%2fsecret.txt",
	"/..%2Foutside/secret.txt",
	"/sub%20dir%2f..%2f..%2foutside%2fsecret.txt",
	"/hello.txt%2f",
	"/sub%20dir%2finner.txt",
	"/..%5coutside%5csecret.txt",
	"/..\\outside\\secret.txt",
	"/sub%20dir\\..\\hello.txt",
	"/%5c%5cevil.com",
	"/hello.txt%00",
	"/hello.txt%00.png",
	"/%00",
	"/%c0%ae%c0%ae/outside/secret.txt",
	"/%c0%af",
	"/%e0%80%ae%e0%80%ae/outside/secret.txt",
	"/%25%32%65%25%32%65/outside/secret.txt",
	"/%252e%252e/outside/secret.txt",
	"/" + strings.Repeat("a/", 2100) + "x",
	"/" + strings.Repeat("%2e%2e/", 50) + "outside/secret.txt",
}

func TestRefusedPathsRaw(t *testing.T) {
	ts := startFixture(t)
	_, _, missing := rawRequest(t, ts.Addr, "/no-such-file")
	if missing != notFoundBody {
		t.Fatalf("missing file body %q", missing)
	}
	for _, target := range refusedTargets {
		code, hdr, body := rawRequest(t, ts.Addr, target)
		if code != 404 || body != missing {
			t.Errorf("%.80q: %d %q, want 404 like a missing file", target, code, body)
		}
		if loc := hdr.Get("Location"); loc != "" {
			t.Errorf("%.80q: redirects to %q", target, loc)
		}
	}
}

// TestMalformedTargets: net/http itself refuses bad percent-encoding with
// 400 before any handler runs; nothing about the folder is involved.
func TestMalformedTargets(t *testing.T) {
	ts := startFixture(t)
	for _, target := range []string{"/%2", "/%zz", "/hello.txt%", "/%%2e%2e"} {
		if code, _, _ := rawRequest(t, ts.Addr, target); code != 400 {
			t.Errorf("%q: %d, want 400", target, code)
		}
	}
}

func TestRefusedPathsHTTPClient(t *testing.T) {
	ts := startFixture(t)
	for _, p := range []string{"/.hidden.txt", "/.hiddendir/secret.txt", "/link-outside", "/linkdir-outside/secret.txt", "/link-relative"} {
		resp, body := doRequest(t, "GET", ts.URL+p)
		if resp.StatusCode != 404 || string(body) != notFoundBody {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
}

func TestRefusedPathsCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	ts := startFixture(t)
	for _, target := range refusedTargets {
		if strings.ContainsAny(target, "\\") || len(target) > 1000 {
			continue // curl rewrites these; the raw test covers them
		}
		out, err := exec.Command(curl, "-sS", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", ts.URL+target).Output()
		if err != nil {
			t.Fatalf("curl %q: %v", target, err)
		}
		if string(out) != "404" {
			t.Errorf("curl %q: %s, want 404", target, out)
		}
	}
}

func TestHiddenOption(t *testing.T) {
	ts := startServer(t, shareView(t, fixture.dir, true), nil)
	resp, body := doRequest(t, "GET", ts.URL+"/.hidden.txt")
	if resp.StatusCode != 200 || string(body) != "hidden\n" {
		t.Errorf("--hidden: %d %q", resp.StatusCode, body)
	}
	// Leaving the folder stays refused with hidden files shown.
	if code, _, _ := rawRequest(t, ts.Addr, "/%2e%2e/outside/secret.txt"); code != 404 {
		t.Errorf("traversal with --hidden: %d", code)
	}
}

func TestCurlAwkwardNames(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	ts := startFixture(t)
	for _, name := range awkwardNames {
		u := ts.URL + fileURL(name)
		out, err := exec.Command(curl, "-sS", "--fail", u).Output()
		if err != nil {
			t.Errorf("curl %q (%s): %v", name, u, err)
			continue
		}
		if string(out) != string(fixture.files[name]) {
			t.Errorf("curl %q: %q", name, out)
		}
	}
	// curl's own ranges and HEAD.
	out, err := exec.Command(curl, "-sS", "--fail", "-r", "0-4", ts.URL+"/hello.txt").Output()
	if err != nil || string(out) != "hello" {
		t.Errorf("curl -r 0-4: %q %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--fail", "-I", ts.URL+"/hello.txt").Output()
	if err != nil || !strings.Contains(strings.ToLower(string(out)), "content-length: 12") {
		t.Errorf("curl -I: %q %v", out, err)
	}
	out, err = exec.Command(curl, "-sS", "--fail", "-L", ts.URL+"/sub%20dir?format=json").Output()
	if err != nil || !strings.Contains(string(out), `"name":"inner.txt"`) {
		t.Errorf("curl -L folder: %q %v", out, err)
	}
}

func TestDecodePath(t *testing.T) {
	for _, c := range []struct {
		in      string
		name    string
		wantDir bool
		ok      bool
	}{
		{"/", "", true, true},
		{"/a/b", "a/b", false, true},
		{"/a//b/", "a/b", true, true},
		{"/sp%20ace", "sp ace", false, true},
		{"/pct%2520", "pct%20", false, true},
		{"/bad%FF", "bad\xff", false, true},
		{"/a%2fb", "", false, false},
		{"/a/../b", "", false, false},
		{"/%2e%2e", "", false, false},
		{"/a%5cb", "", false, false},
		{"/a%00", "", false, false},
		{"a", "", false, false},
		{"", "", false, false},
		{"/%", "", false, false},
	} {
		name, dir, ok := decodePath(c.in)
		if name != c.name || dir != c.wantDir || ok != c.ok {
			t.Errorf("decodePath(%q) = %q, %v, %v; want %q, %v, %v", c.in, name, dir, ok, c.name, c.wantDir, c.ok)
		}
	}
	for _, name := range append(awkwardNames, "a/b c/d") {
		got, _, ok := decodePath(fileURL(name))
		if !ok || got != name {
			t.Errorf("round trip of %q via %q: %q %v", name, fileURL(name), got, ok)
		}
		if u, err := url.Parse(fileURL(name)); err != nil || u.Host != "" || u.Scheme != "" {
			t.Errorf("fileURL(%q) = %q is not a local path", name, fileURL(name))
		}
	}
}
