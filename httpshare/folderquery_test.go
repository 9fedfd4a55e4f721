package httpshare

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

func TestFolderDownloads(t *testing.T) {
	ts := startFixture(t)
	want := map[string]string{
		"sub dir/inner.txt":    "inner\n",
		"sub dir/deeper/x.txt": "deeper\n",
	}
	resp, body := doRequest(t, "GET", ts.URL+"/sub%20dir/?zip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="sub dir.zip"` {
		t.Fatalf("zip: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(data)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("zip holds %q, want %q", got, want)
	}

	resp, body = doRequest(t, "GET", ts.URL+"/sub%20dir?tar.gz")
	if resp.StatusCode != 301 {
		t.Fatalf("folder without slash: %d", resp.StatusCode)
	}
	resp, body = doRequest(t, "GET", ts.URL+resp.Header.Get("Location"))
	if resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("tar.gz: %v", resp.Header)
	}
	gz, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	got = map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, _ := io.ReadAll(tr)
			got[h.Name] = string(data)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tar.gz holds %q, want %q", got, want)
	}

	resp, body = doRequest(t, "GET", ts.URL+"/sub%20dir/?sha256")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("sha256: %d %v", resp.StatusCode, resp.Header)
	}
	for name, data := range map[string]string{"inner.txt": "inner\n", "deeper/x.txt": "deeper\n"} {
		sum := sha256.Sum256([]byte(data))
		if line := hex.EncodeToString(sum[:]) + "  " + name + "\n"; !strings.Contains(string(body), line) {
			t.Errorf("SHA256SUMS lacks %q:\n%s", line, body)
		}
	}

	resp, body = doRequest(t, "HEAD", ts.URL+"/?zip")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Disposition") != `attachment; filename="share.zip"` {
		t.Errorf("HEAD zip: %d %v", resp.StatusCode, resp.Header)
	}
	_, page := doRequest(t, "GET", ts.URL+"/")
	// Buttons of GET forms: a browser submits them, a crawler does not.
	for _, button := range []string{`<form class="dl" method="get">`, `<button name="zip">`, `<button name="tar.gz">`, `<button name="sha256">`,
		`<form id="z" method="get"></form>`, `form="z" formaction="sub%20dir/" name="zip"`} {
		if !bytes.Contains(page, []byte(button)) {
			t.Errorf("page lacks %s", button)
		}
	}
	if bytes.Contains(page, []byte(`?zip"`)) || bytes.Contains(page, []byte(`href="?`)) {
		t.Error("page links to an archive or another order: crawlers would fetch it")
	}
}

// TestFolderDownloadHidesRefused: the archive of the whole share holds
// no hidden file and nothing from outside.
func TestFolderDownloadHidesRefused(t *testing.T) {
	ts := startFixture(t)
	_, body := doRequest(t, "GET", ts.URL+"/?zip")
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.Contains(f.Name, "/.") || strings.Contains(f.Name, "outside") {
			t.Errorf("archive holds %q", f.Name)
		}
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(data, []byte(secretMarker)) {
			t.Errorf("archive entry %q holds an outside file", f.Name)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"plain.zip", `attachment; filename="plain.zip"`},
		{"été 🎉.zip", `attachment; filename="ete _.zip"; filename*=UTF-8''%C3%A9t%C3%A9%20%F0%9F%8E%89.zip`},
		{"Tài liệu.zip", `attachment; filename="Tai lieu.zip"; filename*=UTF-8''T%C3%A0i%20li%E1%BB%87u.zip`},
		{"Straße Øre ﬁle.zip", `attachment; filename="Strasse Ore file.zip"; filename*=UTF-8''Stra%C3%9Fe%20%C3%98re%20%EF%AC%81le.zip`},
		{`a"b 'c';d.zip`, `attachment; filename="a_b 'c';d.zip"; filename*=UTF-8''a%22b%20%27c%27%3Bd.zip`},
	} {
		if got := contentDisposition(false, tc.name); got != tc.want {
			t.Errorf("contentDisposition(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestCurlSavesArchivesOfAnyName runs the footer's curl -OJ on folders whose
// names curl could not take from filename* alone.
func TestCurlSavesArchivesOfAnyName(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	root := t.TempDir()
	for _, name := range []string{"été 🎉", `quote"d 'x'`} {
		if err := os.MkdirAll(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name, "f.txt"), []byte("f"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	view, err := sharefs.New(root, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(view, Options{}))
	defer ts.Close()
	for _, name := range []string{"été 🎉", `quote"d 'x'`} {
		work := t.TempDir()
		cmd := exec.Command(curl, "-fsSOJ", ts.URL+"/"+url.PathEscape(name)+"/?zip")
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("curl -OJ of %q: %v\n%s", name, err, out)
			continue
		}
		if files, _ := os.ReadDir(work); len(files) != 1 || !strings.HasSuffix(files[0].Name(), ".zip") {
			t.Errorf("curl -OJ of %q saved %v", name, files)
		}
	}
}

// TestRootName: the shared folder's own name heads the breadcrumbs and
// names the archive of the whole share and the folder inside it.
func TestRootName(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.txt"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	view, err := sharefs.New(root, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(view, Options{Name: "Holiday <photos>"}))
	defer ts.Close()
	_, page := doRequest(t, "GET", ts.URL+"/")
	if !strings.Contains(string(page), `<a href="/">Holiday &lt;photos&gt;</a>`) {
		t.Errorf("breadcrumb root is not the folder's name:\n%.600s", page)
	}
	resp, body := doRequest(t, "GET", ts.URL+"/?zip")
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="Holiday <photos>.zip"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[1].Name != "Holiday <photos>/f.txt" {
		t.Errorf("zip holds %v", zr.File)
	}
}

// TestArchiveNameCurl: curl -OJ, which reads only the ASCII filename,
// saves the archive of "Tài liệu" as "Tai lieu.zip".
func TestArchiveNameCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Tài liệu"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Tài liệu", "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, shareView(t, dir, false), nil)
	work := t.TempDir()
	cmd := exec.Command(curl, "-sSfOJ", ts.URL+"/T%C3%A0i%20li%E1%BB%87u/?zip")
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl -OJ: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(work, "Tai lieu.zip")); err != nil {
		entries, _ := os.ReadDir(work)
		t.Errorf("curl -OJ did not save Tai lieu.zip (%v); saved %v", err, entries)
	}
	// A file whose URL is escaped is saved by its name too, not its escapes.
	for name, saved := range map[string]string{"bản ghi.txt": "ban ghi.txt", "a b.txt": "a b.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "Tài liệu", name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(curl, "-sSfOJ", ts.URL+"/T%C3%A0i%20li%E1%BB%87u/"+url.PathEscape(name))
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("curl -OJ: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(work, saved)); err != nil {
			entries, _ := os.ReadDir(work)
			t.Errorf("curl -OJ of %q did not save %q (%v); saved %v", name, saved, err, entries)
		}
	}
}
