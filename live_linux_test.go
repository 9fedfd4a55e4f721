//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"example.com/share/internal/testutil"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testutil.Skip(t, "no pseudo-terminals: "+err.Error())
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// liveRun is share running with its stdout on a terminal or a pipe.
type liveRun struct {
	cmd       *exec.Cmd
	out       *syncBuffer // what share wrote to its stdout
	httpURL   string
	ftpURL    string
	readDone  chan struct{}
	exitState chan error
}

// startLive starts share on dir with stdout on a new pseudo-terminal
// (tty) or a pipe, stderr apart.
func startLive(t *testing.T, dir string, tty bool, args ...string) *liveRun {
	t.Helper()
	hp, fp := freePort(t), freePort(t)
	r := &liveRun{
		out:       &syncBuffer{},
		httpURL:   fmt.Sprintf("http://127.0.0.1:%d/", hp),
		ftpURL:    fmt.Sprintf("ftp://127.0.0.1:%d/", fp),
		readDone:  make(chan struct{}),
		exitState: make(chan error, 1),
	}
	args = append([]string{dir, "--http", fmt.Sprintf("127.0.0.1:%d", hp), "--ftp", fmt.Sprintf("127.0.0.1:%d", fp)}, args...)
	r.cmd = exec.Command(testutil.BuildShare(t), args...)
	r.cmd.Env = append(os.Environ(), "TERM=xterm")
	r.cmd.Stderr = &syncBuffer{}
	var reader, writer *os.File
	if tty {
		reader, writer = openPTY(t)
	} else {
		var err error
		if reader, writer, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
	}
	r.cmd.Stdout = writer
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	go func() {
		defer close(r.readDone)
		io.Copy(r.out, reader) // ends with EIO on a pty once share exits
	}()
	go func() { r.exitState <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exitState
		reader.Close()
	})
	waitFor(t, "share to listen", func() bool {
		c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(r.httpURL, "http://"), "/"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return r
}

// interrupt sends Ctrl+C's signal and waits for share to exit.
func (r *liveRun) interrupt(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-r.exitState:
		r.exitState <- err
		if err != nil {
			t.Errorf("share exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("share did not stop")
	}
	select {
	case <-r.readDone:
	case <-time.After(5 * time.Second):
	}
}

// slowDownloads fetches big over HTTP and FTP with curl at 8 MB/s each,
// so they last a few seconds; wait waits for both.
func slowDownloads(t *testing.T, r *liveRun) (wait func()) {
	t.Helper()
	curl := testutil.NeedTool(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	var cmds []*exec.Cmd
	for _, u := range []string{r.httpURL + "big.bin", r.ftpURL + "big.bin"} {
		c := exec.CommandContext(ctx, curl, "-sS", "--limit-rate", "8M", "-o", os.DevNull, u)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	return func() {
		defer cancel()
		for _, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("curl: %v", err)
			}
		}
	}
}

func bigFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 24<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var liveLine = regexp.MustCompile(`(HTTP|FTP)\s+127\.0\.0\.1\s+/big\.bin\s+\d+%\s+[\d.]+ (B|KiB|MiB|GiB)/s`)

// TestLiveTransfersOnTerminal runs share on a pseudo-terminal: downloads
// in flight show with client, file, percent and rate, and Ctrl+C prints
// a one-line summary.
func TestLiveTransfersOnTerminal(t *testing.T) {
	r := startLive(t, bigFolder(t), true)
	wait := slowDownloads(t, r)
	waitFor(t, "both transfers on the terminal", func() bool {
		seen := map[string]bool{}
		for _, m := range liveLine.FindAllStringSubmatch(r.out.String(), -1) {
			seen[m[1]] = true
		}
		return seen["HTTP"] && seen["FTP"]
	})
	wait()
	r.interrupt(t)
	out := r.out.String()
	if want := "Stopped. 2 files served (48.0 MiB) to 1 client."; !strings.Contains(out, want) {
		t.Errorf("terminal lacks the summary %q:\n%q", want, tail(out))
	}
}

// TestNoLiveViewWhenNotWanted: with --quiet, with --log-format json, or
// with stdout not a terminal, nothing of the live view is written.
func TestNoLiveViewWhenNotWanted(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		args []string
	}{
		{"quiet", true, []string{"--quiet"}},
		{"json", true, []string{"--log-format", "json"}},
		{"pipe", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLive(t, bigFolder(t), tc.tty, tc.args...)
			slowDownloads(t, r)()
			r.interrupt(t)
			out := r.out.String()
			if liveLine.MatchString(out) || strings.Contains(out, "Stopped.") || strings.Contains(out, "\x1b[") {
				t.Errorf("live view drawn:\n%q", tail(out))
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// TestDevNullIsNoTerminal: `share >/dev/null` draws nothing (a character
// device, but no terminal).
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("/dev/null counted as a terminal")
	}
}
