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

// TestEncryptedDownloadsDecryptThroughTheCard: GnuPG creates keys on the
// virtual card, share --encrypt serves, and what comes over HTTP and FTP
// is decrypted by GnuPG through the card (and by an extra recipient
// alone) back to the exact bytes.
func TestEncryptedDownloadsDecryptThroughTheCard(t *testing.T) {
	for _, tc := range []struct {
		algo  string
		armor bool
	}{
		{cardtest.RSA, false},
		{cardtest.Cv25519, false},
		{cardtest.Cv25519, true},
	} {
		name := tc.algo
		if tc.armor {
			name += "/armor"
		}
		t.Run(name, func(t *testing.T) {
			cardtest.Start(t)
			owner := cardtest.NewGnuPG(t, true)
			owner.GenerateOnCard(tc.algo, "owner@example.org")
			other := cardtest.NewGnuPG(t, true)
			otherKey := other.GenerateSoftware("other@example.org", "ed25519", "cv25519")

			dir, files := cardFolder(t)
			args := append([]string{"--encrypt", "--recipient", otherKey}, loopbackArgs...)
			suffix := ".gpg"
			if tc.armor {
				args, suffix = append(args, "--armor"), ".asc"
			}
			r := startShare(t, nil, append(args, dir)...)
			checkLoopback(t, r.url)

			listed := listSizes(t, r.url)
			if _, ok := listed["notes.txt"]; ok {
				t.Errorf("listing shows the plaintext name: %v", listed)
			}
			if status := statusOf(t, r.url+"notes.txt"); status != http.StatusNotFound {
				t.Errorf("plaintext name answered %d, want 404", status)
			}
			for _, name := range []string{"notes.txt", "data set.bin", "sub/inside.bin"} {
				msg := download(t, r.url+pathEscape(name+suffix))
				if base := filepath.Base(name); !strings.Contains(name, "/") && listed[base+suffix] != int64(len(msg)) {
					t.Errorf("%s: listing says %d bytes, download gave %d", name, listed[base+suffix], len(msg))
				}
				if tc.armor && !bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----")) {
					t.Errorf("%s: not armored", name)
				}
				expectDecrypts(t, owner, msg, files[name])
				expectDecrypts(t, other, msg, files[name])
			}
			if r.ftp != "" {
				msg := curlFTP(t, r.ftp+pathEscape("data set.bin"+suffix))
				expectDecrypts(t, owner, msg, files["data set.bin"])
				head := string(curlFTP(t, "-I", r.ftp+pathEscape("data set.bin"+suffix)))
				if want := "Content-Length: " + strconv.FormatInt(listed["data set.bin"+suffix], 10); !strings.Contains(head, want) {
					t.Errorf("FTP SIZE: curl -I says %q, want %q", head, want)
				}
				names := string(curlFTP(t, "--list-only", r.ftp))
				if !strings.Contains(names, "notes.txt"+suffix) || strings.Contains(names, "notes.txt\r") {
					t.Errorf("FTP NLST: %q", names)
				}
			} else {
				t.Error("share printed no FTP URL")
			}
		})
	}
}

// TestCardRemovedWhileServing: removing the card is logged, share keeps
// serving with the key it read, and the card decrypts once back.
func TestCardRemovedWhileServing(t *testing.T) {
	stack := cardtest.Start(t)
	owner := cardtest.NewGnuPG(t, true)
	owner.GenerateOnCard(cardtest.Cv25519, "owner@example.org")
	owner.Kill() // scdaemon would otherwise hold the card
	dir, files := cardFolder(t)
	r := startShare(t, []string{"GNUPGHOME=" + owner.Home}, append(append([]string{"--encrypt"}, loopbackArgs...), dir)...)
	checkLoopback(t, r.url)
	if want := ", key " + owner.Fingerprint("owner@example.org"); !strings.Contains(r.banner, want) {
		t.Errorf("banner lacks the primary key %q:\n%s", want, r.banner)
	}

	stack.Remove()
	waitForLog(t, r, "card removed")
	msg := download(t, r.url+"notes.txt.gpg")
	stack.Insert()
	waitForLog(t, r, "inserted again")
	expectDecrypts(t, owner, msg, files["notes.txt"])
	if code := r.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit code %d after the card came and went; stderr:\n%s", code, r.stderr)
	}
}

// TestShareCard prints the card like gpg --card-status.
func TestShareCard(t *testing.T) {
	cardtest.Start(t)
	owner := cardtest.NewGnuPG(t, true)
	fpr := owner.GenerateOnCard(cardtest.RSA, "owner@example.org")
	owner.Kill()
	code, out, errs := runShare(t, []string{"GNUPGHOME=" + owner.Home}, "card", "--reader", cardtest.ReaderName)
	if code != 0 {
		t.Fatalf("share card: exit %d: %s", code, errs)
	}
	grouped := strings.Join(splitEvery(fpr, 4), " ")
	// The primary key as gpg --list-keys shows it, with its user ID.
	primary := owner.Fingerprint("owner@example.org")
	for _, want := range []string{cardtest.ReaderName, "12345678", "3.4", "rsa2048", grouped, "General key info..: " + primary, "owner@example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("share card output lacks %q:\n%s", want, out)
		}
	}
}

// TestEncryptErrors: each way the card can be missing or wrong is one
// line on stderr naming the fix, and exit code 1.
func TestEncryptErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T)
		want  string
	}{
		{"no PC/SC service", func(t *testing.T) { cardtest.Lock(t) }, "start pcscd"},
		{"no reader", func(t *testing.T) { cardtest.Lock(t).StartPCSCD(false) }, "no smartcard reader"},
		{"no card", func(t *testing.T) { cardtest.Lock(t).StartPCSCD(true) }, "insert the OpenPGP card"},
		{"not OpenPGP", func(t *testing.T) { cardtest.Start(t, "-not-openpgp") }, "no OpenPGP application"},
		{"no key", func(t *testing.T) { cardtest.Start(t) }, "gpg --card-edit"},
		{"held exclusively", func(t *testing.T) {
			cardtest.Start(t)
			cardtest.NewGnuPG(t, false).Run(nil, "--card-status")
		}, "pcsc-shared"},
		{"fingerprint mismatch", func(t *testing.T) {
			s := cardtest.Start(t)
			g := cardtest.NewGnuPG(t, true)
			g.GenerateOnCard(cardtest.Cv25519, "owner@example.org")
			g.Kill()
			s.Remove()
			setDecryptionFingerprint(t, s.State, bytes.Repeat([]byte{0x42}, 20))
			s.Insert()
		}, "--recipient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			args := append(append([]string{"--encrypt"}, loopbackArgs...), t.TempDir())
			code, _, stderr := runShare(t, nil, args...)
			expectOneLineError(t, code, stderr, tc.want)
		})
	}
	t.Run("bad recipient file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "key.asc")
		os.WriteFile(bad, []byte("not a key"), 0o644)
		code, _, stderr := runShare(t, nil, append(append([]string{"--recipient", bad}, loopbackArgs...), t.TempDir())...)
		expectOneLineError(t, code, stderr, "gpg --export")
	})
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
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30) // sparse: the test does not write a gigabyte
	f.Close()
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
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("GET %s: Content-Length %d, body %d bytes", u, resp.ContentLength, len(body))
	}
	if ar := resp.Header.Get("Accept-Ranges"); ar != "bytes" {
		t.Errorf("GET %s: Accept-Ranges %q, want bytes: one version is one message", u, ar)
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

func waitForLog(t *testing.T, r *running, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.stderr.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in share's log:\n%s", text, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pathEscape(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// setDecryptionFingerprint writes C8 in the virtual card's state file, as
// a card whose stored fingerprint no longer fits its key would hold.
func setDecryptionFingerprint(t *testing.T, path string, fpr []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	st["Objects"].(map[string]any)["C8"] = fpr // []byte marshals as base64, as the card stores it
	data, _ = json.Marshal(st)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
