package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveShare()
	os.Exit(code)
}

// runShare runs share to completion and returns its exit code and output.
func runShare(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBin(t, testutil.BuildShare(t), env, args...)
}

// runBin runs the share binary bin to completion and returns its exit
// code and output.
func runBin(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = shareEnv(t, env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// running is a share process serving in the background.
type running struct {
	cmd    *exec.Cmd
	url    string // the first HTTP URL of the banner
	banner string // the banner as printed
	ftp    string // the first FTP URL of the banner, if any
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	httpURL = regexp.MustCompile(`HTTP\s+(http://\S+)`)
	ftpURL  = regexp.MustCompile(`FTP\s+(ftp://\S+)`)
)

// shareEnv is the environment of a share the test starts: its own
// configuration folder (the download secret), unless env names one.
func shareEnv(t *testing.T, env []string) []string {
	return append(append(os.Environ(), configEnv(t.TempDir())...), env...)
}

// startShare starts share with args and waits for its banner.
func startShare(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	return startBin(t, testutil.BuildShare(t), env, args...)
}

// startBin starts the share binary bin with args and waits for its banner.
func startBin(t *testing.T, bin string, env []string, args ...string) *running {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = shareEnv(t, env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("share's stderr:\n%s", r.stderr)
		}
	})
	banner := make(chan []string, 1)
	text := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var urls []string // HTTP, FTP
		var lines strings.Builder
		for sc.Scan() {
			line := sc.Text()
			lines.WriteString(line + "\n")
			if m := httpURL.FindStringSubmatch(line); m != nil && len(urls) == 0 {
				urls = append(urls, m[1])
			}
			if m := ftpURL.FindStringSubmatch(line); m != nil {
				urls = append(urls, m[1])
			}
			if strings.HasPrefix(line, "Press Ctrl+C") {
				text <- lines.String()
				banner <- urls
			}
		}
		r.done <- cmd.Wait()
	}()
	select {
	case urls := <-banner:
		r.banner = <-text
		if len(urls) > 0 && strings.HasPrefix(urls[0], "http") {
			r.url, urls = urls[0], urls[1:]
		}
		if len(urls) > 0 {
			r.ftp = urls[0]
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no banner; stderr: %s", r.stderr)
	}
	return r
}

// stop sends sig and returns the exit code.
func (r *running) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	r.cmd.Process.Signal(sig)
	return r.wait(t)
}

// wait waits for the process to exit and returns the exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatal("share did not exit after the signal")
	}
	r.done <- nil // for the cleanup
	return r.cmd.ProcessState.ExitCode()
}

func shareFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestVersion(t *testing.T) {
	code, out, _ := runShare(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "share ") {
		t.Errorf("share version = %d %q", code, out)
	}
	if strings.Contains(out, "no smartcard") {
		t.Errorf("share version = %q: the default build has the card", out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := shareFolder(t)
	for _, args := range [][]string{
		{"--no-such-flag"},
		{dir, dir},
		{"--no-http", "--no-ftp", dir},
		{"--log-format", "xml", "--no-ftp", "--http", "127.0.0.1:0", dir},
		{"--http", "nonsense", "--no-ftp", dir},
		{"--ftp-idle", "soon", dir},
		{"--no-ftp", "--http", "127.0.0.1:99999", dir},
		{"--no-ftp", "--http", ":notaport", dir},
		{"--http", "127.0.0.1:18000", "--ftp", ":18000", dir},
	} {
		code, _, stderr := runShare(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, "share") {
			t.Errorf("share %q: exit %d, stderr %q; want exit 2 and a message", args, code, stderr)
		}
	}
}

func TestRunErrorsExit1WithOneLine(t *testing.T) {
	dir := shareFolder(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing")}, "does not exist"},
		{[]string{filepath.Join(dir, "hello.txt")}, "not a folder"},
		{[]string{"--no-ftp", "--http", busy.Addr().String(), dir}, "in use"},
		{[]string{"--no-ftp", "--http", "192.0.2.1:0", dir}, "not on this machine"},
	} {
		code, _, stderr := runShare(t, nil, tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("share %q: exit %d, stderr %q; want exit 1 and one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestServesAndStopsCleanly(t *testing.T) {
	dir := shareFolder(t)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		r := startShare(t, nil, "--no-ftp", "--http", "127.0.0.1:0", dir)
		body := get(t, r.url+"hello.txt")
		if body != "hello\n" {
			t.Errorf("GET hello.txt = %q", body)
		}
		if code := r.stop(t, sig); code != 0 {
			t.Errorf("exit code after %v = %d, want 0; stderr %s", sig, code, r.stderr)
		}
	}
}

func TestServesFTPToo(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	dir := shareFolder(t)
	r := startShare(t, nil, "--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0", "--passive-ports", "40000-40100", dir)
	if r.ftp == "" {
		t.Fatal("banner shows no FTP URL")
	}
	out, err := exec.Command(curl, "-sS", r.ftp+"hello.txt").Output()
	if err != nil || string(out) != "hello\n" {
		t.Errorf("curl %shello.txt = %q, %v", r.ftp, out, err)
	}
	if code := r.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit code %d; stderr %s", code, r.stderr)
	}
}

func TestOptionsFromEnvironment(t *testing.T) {
	dir := shareFolder(t)
	if err := os.WriteFile(filepath.Join(dir, ".dot"), []byte("dot"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Standing defaults that mean nothing in this run (FTP off, no card)
	// are not refused.
	r := startShare(t, []string{"SHARE_HTTP=127.0.0.1:0", "SHARE_NO_FTP=true", "SHARE_HIDDEN=true", "SHARE_LOG_FORMAT=json",
		"SHARE_FTP=127.0.0.1:0", "SHARE_PASSIVE_PORTS=50000-50100", "SHARE_READER=Some Reader", "SHARE_PIN_FILE=/nonexistent"}, dir)
	if body := get(t, r.url+".dot"); body != "dot" {
		t.Errorf("GET .dot with SHARE_HIDDEN = %q", body)
	}
	r.stop(t, os.Interrupt)
	// Every log line is JSON with SHARE_LOG_FORMAT=json.
	for _, line := range strings.Split(strings.TrimSpace(r.stderr.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
}

func TestShutdownLetsDownloadFinish(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20) // 64 MiB
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	r := startShare(t, nil, "--no-ftp", "--http", "127.0.0.1:0", dir)
	resp, err := http.Get(r.url + "big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("download cut by shutdown: %v", err)
	}
	if !bytes.Equal(append(first, rest...), big) {
		t.Error("download after SIGTERM differs from the file")
	}
	if code := r.wait(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	// New connections are refused once it is gone.
	if _, err := http.Get(r.url); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestSecondSignalQuitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startShare(t, nil, "--no-ftp", "--http", "127.0.0.1:0", dir)
	resp, err := http.Get(r.url + "big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read: the transfer outlives the grace period
	r.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	r.cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	code := r.wait(t)
	if code != 1 || time.Since(start) > shutdownGrace/2 {
		t.Errorf("after a second signal: exit %d after %v; want 1 at once", code, time.Since(start))
	}
	if !strings.Contains(r.stderr.String(), "second") {
		t.Errorf("no word of the forced stop: %s", r.stderr)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVersionStamp: the release script's -X main.version names the version.
func TestVersionStamp(t *testing.T) {
	defer func(old string) { version = old }(version)
	version = "v9.8.7"
	if got := versionString(); !strings.HasPrefix(got, "v9.8.7 ") {
		t.Errorf("versionString() = %q, want it to start with the stamped v9.8.7", got)
	}
}
