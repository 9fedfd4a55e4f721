package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/testutil"
)

// resumeFixture is share --recipient serving a folder with one file of
// random bytes, its configuration folder (the download secret) kept for
// restarts, and the whole message downloaded once.
type resumeFixture struct {
	g      *cardtest.GnuPG
	key    string // the recipient's public key file
	dir    string // the shared folder
	config string // XDG_CONFIG_HOME and HOME of share
	plain  []byte
	r      *running
	whole  []byte // the message, downloaded once with a plain GET
	etag   string
}

const resumeName = "big.bin"

func newResumeFixture(t *testing.T, size int) *resumeFixture {
	t.Helper()
	fx := &resumeFixture{g: cardtest.NewGnuPG(t, false), dir: t.TempDir(), config: t.TempDir()}
	fx.key = fx.g.GenerateSoftware("resume@example.org", "ed25519", "cv25519")
	fx.plain = make([]byte, size)
	rand.Read(fx.plain)
	if err := os.WriteFile(filepath.Join(fx.dir, resumeName), fx.plain, 0o644); err != nil {
		t.Fatal(err)
	}
	fx.start(t)
	resp, body := httpGet(t, fx.url(), nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET: %d, Accept-Ranges %q", resp.StatusCode, resp.Header.Get("Accept-Ranges"))
	}
	fx.whole, fx.etag = body, resp.Header.Get("ETag")
	if !strings.HasPrefix(fx.etag, `"`) {
		t.Fatalf("ETag %q, want a strong one", fx.etag)
	}
	expectDecrypts(t, fx.g, fx.whole, fx.plain)
	return fx
}

// start (re)starts share on the folder with the same configuration folder.
func (fx *resumeFixture) start(t *testing.T) {
	t.Helper()
	env := configEnv(fx.config)
	args := append([]string{"--recipient", fx.key}, loopbackArgs...)
	fx.r = startShare(t, env, append(args, fx.dir)...)
}

func (fx *resumeFixture) url() string { return fx.r.url + resumeName + ".gpg" }

// ftpURL is the FTP server's address without the trailing slash.
func (fx *resumeFixture) ftpURL() string { return strings.TrimSuffix(fx.r.ftp, "/") }

// httpGet sends GET with the headers and returns the response and body.
func httpGet(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// runTool runs a client in dir, bounded in time, and returns its output;
// failure fails the test unless ok allows the exit code.
func runTool(t *testing.T, dir string, ok func(code int) bool, name string, args ...string) string {
	t.Helper()
	testutil.NeedTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil && (ok == nil || !ok(cmd.ProcessState.ExitCode())) {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// expectWhole checks that a client's file is the message, byte for byte.
func (fx *resumeFixture) expectWhole(t *testing.T, who, path string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, fx.whole) {
		t.Fatalf("%s: %d bytes that differ from the %d-byte message", who, len(got), len(fx.whole))
	}
}

// TestEncryptedDownloadsResume: real HTTP and FTP clients resume and
// split an encrypted download; every result is the one message, which
// GnuPG decrypts to the file.
func TestEncryptedDownloadsResume(t *testing.T) {
	fx := newResumeFixture(t, 12<<20+777)
	half := fx.whole[:len(fx.whole)/2]

	t.Run("curl cut then -C -", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		curlCut(t, out, fx.url())
		runTool(t, dir, nil, "curl", "-sS", "--fail", "-C", "-", "-o", out, fx.url())
		fx.expectWhole(t, "curl -C -", out)
	})
	t.Run("wget -c", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, resumeName+".gpg"), half, 0o644)
		runTool(t, dir, nil, "wget", "-q", "-c", fx.url())
		fx.expectWhole(t, "wget -c", filepath.Join(dir, resumeName+".gpg"))
	})
	t.Run("aria2c -x 4 -s 4", func(t *testing.T) {
		dir := t.TempDir()
		before := len(fx.r.stderr.String())
		runTool(t, dir, nil, "aria2c", "-q", "-x", "4", "-s", "4", "-k", "1M", "--allow-overwrite=true", "-d", dir, "-o", "out", fx.url())
		fx.expectWhole(t, "aria2c", filepath.Join(dir, "out"))
		if n := countEvents(fx.r.stderr.String()[before:], "status=206", "aria2"); n < 2 {
			t.Errorf("aria2c asked %d ranges: it did not split the download", n)
		}
	})
	t.Run("lftp get -c", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		os.WriteFile(out, half, 0o644)
		runTool(t, dir, nil, "lftp", "-c", "set net:max-retries 1; open "+fx.ftpURL()+"; get -c "+resumeName+".gpg -o "+out)
		fx.expectWhole(t, "lftp get -c", out)
	})
	t.Run("lftp pget -n 4", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		before := len(fx.r.stderr.String())
		runTool(t, dir, nil, "lftp", "-c", "set net:max-retries 1; set pget:min-chunk-size 1M; open "+fx.ftpURL()+"; pget -n 4 "+resumeName+".gpg -o "+out)
		fx.expectWhole(t, "lftp pget", out)
		if n := countEvents(fx.r.stderr.String()[before:], "method=RETR", resumeName); n < 2 {
			t.Errorf("lftp pget sent %d RETR: it did not split the download", n)
		}
	})
	t.Run("ftplib rest", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		os.WriteFile(out, half, 0o644)
		ftplibResume(t, fx, dir, out, len(half))
		fx.expectWhole(t, "ftplib rest", out)
	})
	t.Run("multiple ranges", func(t *testing.T) {
		ranges := [][2]int{{0, 99}, {5 << 20, 5<<20 + 4096}, {len(fx.whole) - 10, len(fx.whole) - 1}}
		var spec []string
		for _, r := range ranges {
			spec = append(spec, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
		resp, body := httpGet(t, fx.url(), map[string]string{"Range": "bytes=" + strings.Join(spec, ",")})
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != http.StatusPartialContent || err != nil {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for i, r := range ranges {
			part, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(part)
			if !bytes.Equal(got, fx.whole[r[0]:r[1]+1]) {
				t.Errorf("part %d (%s) differs from the message", i, part.Header.Get("Content-Range"))
			}
		}
	})
	t.Run("HEAD and 416", func(t *testing.T) {
		resp, err := http.Head(fx.url())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ContentLength != int64(len(fx.whole)) || resp.Header.Get("ETag") != fx.etag || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("HEAD: %d bytes, ETag %q, Accept-Ranges %q", resp.ContentLength, resp.Header.Get("ETag"), resp.Header.Get("Accept-Ranges"))
		}
		resp, _ = httpGet(t, fx.url(), map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(fx.whole))})
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("range past the end: %d", resp.StatusCode)
		}
	})
	t.Run("If-Range with a date or a weak tag sends it whole", func(t *testing.T) {
		resp, err := http.Head(fx.url())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, v := range []string{resp.Header.Get("Last-Modified"), "W/" + fx.etag} {
			resp, body := httpGet(t, fx.url(), map[string]string{"Range": "bytes=100-199", "If-Range": v})
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, fx.whole) {
				t.Errorf("If-Range %q: %d, %d bytes; want the whole message", v, resp.StatusCode, len(body))
			}
		}
	})
	t.Run("archives and SHA256SUMS whole only", func(t *testing.T) {
		for _, q := range []string{"?zip", "?tar.gz", "?sha256"} {
			resp, body := httpGet(t, fx.r.url+q, map[string]string{"Range": "bytes=10-19"})
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Accept-Ranges") == "bytes" || len(body) <= 10 {
				t.Errorf("%s with a range: %d, Accept-Ranges %q, %d bytes; want the whole", q, resp.StatusCode, resp.Header.Get("Accept-Ranges"), len(body))
			}
		}
	})
	t.Run("changed file: new ETag, If-Range sends it whole", func(t *testing.T) {
		rng := map[string]string{"Range": "bytes=100-199", "If-Range": fx.etag}
		if resp, body := httpGet(t, fx.url(), rng); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, fx.whole[100:200]) {
			t.Fatalf("If-Range with the current ETag: %d", resp.StatusCode)
		}
		changed := append(bytes.Clone(fx.plain[:1000]), "changed"...)
		if err := os.WriteFile(filepath.Join(fx.dir, resumeName), changed, 0o644); err != nil {
			t.Fatal(err)
		}
		resp, body := httpGet(t, fx.url(), rng)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == fx.etag {
			t.Fatalf("If-Range after a change: %d, ETag %q (was %q)", resp.StatusCode, resp.Header.Get("ETag"), fx.etag)
		}
		expectDecrypts(t, fx.g, body, changed)
	})
}

// countEvents counts the lines of logs that hold every one of parts.
func countEvents(logs string, parts ...string) int {
	n := 0
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// portOf is the port of a URL like ftp://127.0.0.1:2121/.
func portOf(t *testing.T, u string) string {
	t.Helper()
	i := strings.LastIndex(u, ":")
	port := strings.TrimSuffix(u[i+1:], "/")
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("no port in %q", u)
	}
	return port
}

// TestEncryptedDownloadResumesAfterRestart: a download cut before share
// restarts resumes after it, over HTTP and FTP, to the same message.
func TestEncryptedDownloadResumesAfterRestart(t *testing.T) {
	fx := newResumeFixture(t, 6<<20+5)
	cut := len(fx.whole)/3 + 7
	resp, first := httpGet(t, fx.url(), map[string]string{"Range": fmt.Sprintf("bytes=0-%d", cut-1)})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(first, fx.whole[:cut]) {
		t.Fatalf("first part: %d, %d bytes", resp.StatusCode, len(first))
	}
	info, err := os.Stat(filepath.Join(fx.config, "share", "download-secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("download secret: %v, %v", info, err)
	}
	if code := fx.r.stop(t, os.Interrupt); code != 0 {
		t.Fatalf("share exited %d", code)
	}
	logs := fx.r.banner + fx.r.stderr.String()
	fx.start(t)

	resp, rest := httpGet(t, fx.url(), map[string]string{"Range": fmt.Sprintf("bytes=%d-", cut), "If-Range": fx.etag})
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("HTTP resume after the restart: %d, ETag %q was %q", resp.StatusCode, resp.Header.Get("ETag"), fx.etag)
	}
	expectDecrypts(t, fx.g, append(bytes.Clone(first), rest...), fx.plain)

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.WriteFile(out, first, 0o644)
	ftplibResume(t, fx, dir, out, cut)
	fx.expectWhole(t, "FTP resume after the restart", out)
	got, _ := os.ReadFile(out)
	expectDecrypts(t, fx.g, got, fx.plain)
	expectSecretUnlogged(t, fx.config, logs+fx.r.banner+fx.r.stderr.String())
}

// expectSecretUnlogged checks that the download secret kept under
// config appears in logs in none of the spellings a log could use.
func expectSecretUnlogged(t *testing.T, config, logs string) {
	t.Helper()
	secret, err := os.ReadFile(filepath.Join(config, "share", "download-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "GET") {
		t.Fatalf("no access events in share's output, nothing checked:\n%s", logs)
	}
	for _, spelling := range []string{string(secret), hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret), base64.RawURLEncoding.EncodeToString(secret), fmt.Sprint(secret)} {
		if strings.Contains(logs, spelling[:16]) {
			t.Fatalf("share's output holds the download secret (%.16s...)", spelling)
		}
	}
}

// TestRangesOfALargeEncryptedFile: ranges at random offsets of a 1 GiB
// sparse file, asked before anything of it was encrypted, are the bytes
// of one whole download made afterwards.
func TestRangesOfALargeEncryptedFile(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key := g.GenerateSoftware("large@example.org", "ed25519", "cv25519")
	dir, config := t.TempDir(), t.TempDir()
	f, err := os.Create(filepath.Join(dir, "large.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("some data in the middle"), 600<<20)
	f.Close()
	env := configEnv(config)
	r := startShare(t, env, append(append([]string{"--recipient", key}, loopbackArgs...), dir)...)
	url := r.url + "large.img.gpg"

	const span = 64 << 10
	offsets := []int64{900 << 20, 3, 1<<30 - 100}
	for range 2 {
		var b [8]byte
		rand.Read(b[:])
		offsets = append(offsets, int64(b[0])<<22|int64(b[1])<<14|int64(b[2])) // below 1 GiB
	}
	parts := map[int64][]byte{}
	for _, off := range offsets {
		resp, body := httpGet(t, url, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+span-1)})
		if resp.StatusCode != http.StatusPartialContent || len(body) == 0 {
			t.Fatalf("range at %d: %d, %d bytes", off, resp.StatusCode, len(body))
		}
		parts[off] = body
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pos int64
	buf := make([]byte, 1<<20)
	for {
		n, err := resp.Body.Read(buf)
		for off, want := range parts {
			// Keep the bytes of this read that fall in a part.
			lo, hi := max(off, pos), min(off+int64(len(want)), pos+int64(n))
			if lo < hi && !bytes.Equal(buf[lo-pos:hi-pos], want[lo-off:hi-off]) {
				t.Fatalf("the range at %d differs from the whole download at %d", off, lo)
			}
		}
		pos += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if pos != resp.ContentLength {
		t.Fatalf("whole download %d bytes, Content-Length %d", pos, resp.ContentLength)
	}
}

// curlCut starts curl downloading url to out, slowly, and kills it once
// part of the file has come.
func curlCut(t *testing.T, out, url string) {
	t.Helper()
	testutil.NeedTool(t, "curl")
	cmd := exec.Command("curl", "-sS", "--limit-rate", "200K", "-o", out, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, err := os.Stat(out); err == nil && info.Size() >= 100<<10 {
			break
		}
		select {
		case err := <-done:
			got, _ := os.ReadFile(out)
			t.Fatalf("curl ended before it was cut (%v) with %d bytes: %.200q", err, len(got), got)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatal("curl received nothing in 30 s")
		}
	}
	cmd.Process.Kill()
	<-done
}

// ftplibResume has Python's ftplib append the encrypted file, from
// offset on (REST), to out, which holds its first offset bytes.
func ftplibResume(t *testing.T, fx *resumeFixture, dir, out string, offset int) {
	t.Helper()
	script := fmt.Sprintf(`
import ftplib
f = open(%q, "ab")
c = ftplib.FTP()
c.connect("127.0.0.1", %s, timeout=60)
c.login()
c.retrbinary("RETR %s.gpg", f.write, rest=%d)
c.quit()
`, out, portOf(t, fx.r.ftp), resumeName, offset)
	runTool(t, dir, nil, "python3", "-c", script)
}
