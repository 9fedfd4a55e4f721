package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/accesslog"
	"example.com/share/internal/testutil"
)

// logLines parses a JSON log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, v)
	}
	return lines
}

// TestAccessLogOneSchema drives both servers with curl and checks that
// HTTP and FTP access events, failures and refusals too, share one
// schema, and that the start-up events list the banner's URLs.
func TestAccessLogOneSchema(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Tài liệu"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Tài liệu", "a b.txt"), []byte("abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startShare(t, nil, dir, "--log-format", "json", "--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0")
	const file = "/T%C3%A0i%20li%E1%BB%87u/a%20b.txt"
	for _, args := range [][]string{
		{r.url + file[1:]},
		{r.ftp + file[1:]},
		{r.url + "nope"},
		{r.ftp + "nope"},
		{"--ignore-content-length", r.ftp + "gone.txt"}, // RETR without SIZE first
		{r.ftp + "nodir/a.txt"},                         // CWD into a missing folder
		{"-Q", "XYZ", r.ftp + file[1:]},                 // a command share does not know
		{"-X", "DELETE", r.url + "nope"},
		{"-T", filepath.Join(dir, "Tài liệu", "a b.txt"), r.ftp + "up.txt"},
		{"-H", "Host: evil.example", r.url},
	} {
		exec.Command(curl, append([]string{"-s", "-o", os.DevNull}, args...)...).Run()
	}
	r.stop(t, os.Interrupt)

	type key struct {
		proto, method, path string
		status              float64
	}
	var seen []key
	var urls []string
	foreign := false
	for _, l := range logLines(t, r.stderr.String()) {
		checkMilliseconds(t, l)
		switch l["msg"] {
		case "listening":
			for _, u := range l["urls"].([]any) {
				urls = append(urls, u.(string))
			}
		case "request":
			checkAccessFields(t, l)
			seen = append(seen, key{l["proto"].(string), l["method"].(string), l["path"].(string), l["status"].(float64)})
		}
		if l["level"] == "WARN" && l["host"] == "evil.example" && strings.Contains(l["msg"].(string), "--public-host") {
			foreign = true
		}
	}
	for _, want := range []key{
		{"http", "GET", "/Tài liệu/a b.txt", 200},
		{"ftp", "RETR", "/Tài liệu/a b.txt", 226},
		{"http", "GET", "/nope", 404},
		{"ftp", "SIZE", "/nope", 550},
		{"ftp", "RETR", "/gone.txt", 550},
		{"ftp", "CWD", "/nodir", 550},
		{"ftp", "XYZ", "", 500},
		{"http", "DELETE", "/nope", 405},
		{"ftp", "STOR", "/up.txt", 550},
		{"http", "GET", "/", 421},
	} {
		if !slices.Contains(seen, want) {
			t.Errorf("no access event %+v in %+v", want, seen)
		}
	}
	if !slices.Contains(urls, r.url) || !slices.Contains(urls, r.ftp) {
		t.Errorf("start-up events list %q, banner shows %s and %s", urls, r.url, r.ftp)
	}
	if !foreign {
		t.Errorf("no warning naming the foreign Host and --public-host:\n%s", r.stderr)
	}
}

// checkAccessFields checks one access event against the schema.
func checkAccessFields(t *testing.T, l map[string]any) {
	t.Helper()
	fields := []string{"proto", "client", "method", "path", "status", "bytes", "duration_ms"}
	if l["proto"] == "http" {
		fields = append(fields, "host", "user_agent")
	}
	for _, f := range fields {
		if _, ok := l[f]; !ok {
			t.Errorf("access event lacks %q: %v", f, l)
		}
	}
	c, _ := l["client"].(string)
	if a, err := netip.ParseAddr(c); err != nil || a != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("client %q, want the IP alone", c)
	}
	if _, ok := l["duration"]; ok {
		t.Errorf("access event has a duration besides duration_ms: %v", l)
	}
}

// checkMilliseconds checks that an event gives its durations in
// milliseconds: slog writes a time.Duration as nanoseconds in JSON, and
// as "5s" in text.
func checkMilliseconds(t *testing.T, l map[string]any) {
	t.Helper()
	for k, v := range l {
		if n, ok := v.(float64); ok && n >= 1e9 && !strings.HasSuffix(k, "bytes") {
			t.Errorf("%q: %s = %v looks like nanoseconds; durations go in NAME_ms", l["msg"], k, n)
		}
	}
	if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "stopping:") && l["grace_ms"] != float64(5000) {
		t.Errorf("stopping event without grace_ms: %v", l)
	}
}

// TestShutdownInPlainWords: downloads cut at the end of the grace period
// are reported without the network library's words.
func TestShutdownInPlainWords(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startShare(t, nil, dir, "--http", "127.0.0.1:0", "--ftp", "127.0.0.1:0")
	var slow []*exec.Cmd
	for _, u := range []string{r.url + "big.bin", r.ftp + "big.bin"} {
		c := exec.Command(curl, "-s", "--limit-rate", "1M", "-o", os.DevNull, u)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	t.Cleanup(func() {
		for _, c := range slow {
			c.Process.Kill()
			c.Wait()
		}
	})
	waitFor(t, "both downloads to start", func() bool {
		return strings.Contains(r.stderr.String(), "ftp login")
	})
	time.Sleep(500 * time.Millisecond)
	if code := r.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit %d", code)
	}
	log := r.stderr.String()
	if !strings.Contains(log, "were cut") {
		t.Errorf("no word of the cut transfers:\n%s", log)
	}
	if strings.Contains(log, "aborted by the client") || !strings.Contains(log, accesslog.ReasonStopping) {
		t.Errorf("the FTP transfer cut by the stop is not logged as such:\n%s", log)
	}
	for _, jargon := range []string{"use of closed network connection", "context deadline exceeded", "readfrom tcp"} {
		if strings.Contains(log, jargon) {
			t.Errorf("log says %q:\n%s", jargon, log)
		}
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
