package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
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

// loopbackArgs keep the servers on loopback, the only place tests talk to.
var loopbackArgs = []string{"--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0"}

// cardFolder is a shared folder with a random file and a text file.
func cardFolder(t *testing.T) (dir string, files map[string][]byte) {
	t.Helper()
	dir = t.TempDir()
	files = map[string][]byte{
		"notes.txt":      []byte("meeting at noon\n"),
		"data set.bin":   make([]byte, 300_000),
		"sub/inside.bin": make([]byte, 1000),
	}
	rand.Read(files["data set.bin"])
	rand.Read(files["sub/inside.bin"])
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// TestBadRecipientFile: a key file that is no key, or a secret key given
// by mistake, is one line on stderr naming the fix, and exit code 1.
// (Expired and ElGamal keys: cardcrypt's TestRecipientFileErrors.)
func TestBadRecipientFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "key.asc")
	os.WriteFile(bad, []byte("not a key"), 0o644)
	g := cardtest.NewGnuPG(t, false)
	g.GenerateSoftware("secret@example.org", "ed25519", "cv25519")
	fpr := g.Fingerprint("secret@example.org")
	secret := filepath.Join(t.TempDir(), "secret.asc")
	os.WriteFile(secret, g.Run(nil, "--passphrase", "", "--pinentry-mode", "loopback", "--armor", "--export-secret-keys", fpr), 0o600)
	for file, want := range map[string]string{bad: "gpg --export", secret: "give the public key only: gpg --export --armor " + fpr} {
		code, _, stderr := runShare(t, nil, append(append([]string{"--recipient", file}, loopbackArgs...), t.TempDir())...)
		expectOneLineError(t, code, stderr, want)
	}
}

func expectOneLineError(t *testing.T, code int, stderr, want string) {
	t.Helper()
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q, want one line containing %q", stderr, want)
	}
}

// TestLargeEncryptedDownloadMemory: a 1 GiB encrypted download keeps
// share under 50 MiB resident, and the bytes match the announced length.
func TestLargeEncryptedDownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB download in -short mode")
	}
	g := cardtest.NewGnuPG(t, true)
	key := g.GenerateSoftware("big@example.org", "ed25519", "cv25519")
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "big.bin"), 1<<30)
	r := startShare(t, nil, append(append([]string{"--recipient", key, "--no-ftp"}, "--http", "127.0.0.1:0"), dir)...)
	checkLoopback(t, r.url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url+"big.bin.gpg", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n != resp.ContentLength || n <= 1<<30 {
		t.Fatalf("read %d bytes, Content-Length %d", n, resp.ContentLength)
	}
	peak := peakRSS(t, r.cmd.Process.Pid)
	t.Logf("peak resident set during a 1 GiB encrypted download: %d KiB", peak)
	if peak > 50<<10 {
		t.Errorf("peak resident set %d KiB, want under 50 MiB", peak)
	}
}

// peakRSS reads VmHWM (KiB) of a process.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		testutil.Skip(t, "no /proc to measure memory: "+err.Error())
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func checkLoopback(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(u.Hostname(), "127.") {
		t.Fatalf("server URL %q is not on loopback", raw)
	}
}

// listSizes reads the root's JSON listing as name → size.
func listSizes(t *testing.T, base string) map[string]int64 {
	t.Helper()
	var ents []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"?format=json")), &ents); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		out[e.Name] = e.Size
	}
	return out
}

func statusOf(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// download GETs u and checks the body against Content-Length.
func download(t *testing.T, u string) []byte {
	t.Helper()
	return fetchWhole(t, u, true)
}

// downloadStreamed is download for a folder job (SHA256SUMS, archives),
// which is made as it is sent: it may come chunked, with no length.
func downloadStreamed(t *testing.T, u string) []byte {
	t.Helper()
	return fetchWhole(t, u, false)
}

// fetchWhole downloads u, which must answer 200 with the whole body, and with a
// Content-Length when sized is set.
func fetchWhole(t *testing.T, u string, sized bool) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	if (sized || resp.ContentLength >= 0) && resp.ContentLength != int64(len(body)) {
		t.Errorf("GET %s: Content-Length %d, body %d bytes", u, resp.ContentLength, len(body))
	}
	return body
}

// curlFTP runs curl with the arguments and returns what it prints.
func curlFTP(t *testing.T, args ...string) []byte {
	t.Helper()
	testutil.NeedTool(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--fail"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func expectDecrypts(t *testing.T, g *cardtest.GnuPG, msg, want []byte) {
	t.Helper()
	got, err := g.Decrypt(msg)
	if err != nil {
		t.Fatalf("gpg --decrypt: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("gpg gave back %d bytes that differ from the %d shared", len(got), len(want))
	}
}

func pathEscape(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
