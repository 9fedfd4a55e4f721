package ftpshare

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// helperEnv makes the test binary run TestSendfileHelper as a server.
const helperEnv = "FTPSHARE_SENDFILE_HELPER"

// TestSendfileHelper is the server process of TestSendfileUsed. It serves
// the fixture, prints its address and runs until stdin closes.
func TestSendfileHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return // only as a child of TestSendfileUsed
	}
	_, addr := start(t, openView(t), Options{}, "127.0.0.1")
	os.Stdout.WriteString("ADDR " + addr + "\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// TestSendfileUsed runs the server under strace and checks that a RETR of
// a file on disk goes out with sendfile, not through user space.
func TestSendfileUsed(t *testing.T) {
	strace := testutil.NeedTool(t, "strace")
	trace := filepath.Join(t.TempDir(), "trace")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strace, "-f", "-e", "trace=sendfile", "-o", trace,
		os.Args[0], "-test.run=^TestSendfileHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	addr := readHelperAddr(t, stdout)
	c := dial(t, addr)
	c.login()
	got := c.get("RETR big.bin")
	if !bytes.Equal(got, visibleFiles["big.bin"]) {
		t.Fatalf("RETR under strace: %d bytes", len(got))
	}
	c.expect(221, "QUIT")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server under strace: %v", err)
	}
	sent := sendfileBytes(t, trace)
	t.Logf("sendfile moved %d bytes", sent)
	if sent < int64(len(got)) {
		t.Errorf("sendfile moved %d bytes of the %d sent", sent, len(got))
	}
}

func readHelperAddr(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			return addr
		}
	}
	testutil.Skip(t, "the server under strace did not start (is ptrace allowed?)")
	return ""
}

var sendfileResult = regexp.MustCompile(`sendfile\(.*\)\s+=\s+(\d+)`)

// sendfileBytes adds up what the traced sendfile calls returned.
func sendfileBytes(t *testing.T, trace string) int64 {
	t.Helper()
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, m := range sendfileResult.FindAllSubmatch(data, -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		total += n
	}
	return total
}
