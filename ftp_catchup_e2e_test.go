package main

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
)

// TestFTPFarResumeStopsWhenClientLeaves: RETR of an encrypted file after
// a REST far into it (a catch-up that encrypts 60 GB before its first
// byte) stops when the client sends ABOR, and when it closes the data
// connection without a word.
func TestFTPFarResumeStopsWhenClientLeaves(t *testing.T) {
	g := cardtest.NewGnuPG(t, false)
	key := g.GenerateSoftware("catchup@example.org", "ed25519", "cv25519")
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "huge.img"), 64<<30)
	r := startShare(t, configEnv(t.TempDir()), append(append([]string{"--recipient", key}, loopbackArgs...), dir)...)
	pid := r.cmd.Process.Pid

	leaveByAbort := func(ctrl *textproto.Conn, data net.Conn) {
		ftpCommand(t, ctrl, "ABOR", 0)
		data.Close()
	}
	leaveByClose := func(_ *textproto.Conn, data net.Conn) { data.Close() }
	for name, leave := range map[string]func(*textproto.Conn, net.Conn){"ABOR": leaveByAbort, "closed data connection": leaveByClose} {
		if name != "ABOR" && !netutil.CanSeePeerGone {
			continue
		}
		ctrl, data := ftpFarRetr(t, r.ftp, "huge.img.gpg", 60_000_000_000)
		waitBusy(t, pid)
		leave(ctrl, data)
		time.Sleep(time.Second) // the data connection is looked at every 250 ms
		before := processCPU(t, pid)
		time.Sleep(700 * time.Millisecond)
		if used := processCPU(t, pid) - before; used > 200*time.Millisecond {
			t.Errorf("%s: share used %v of CPU in 0.7 s, 1 s after its client left", name, used)
		}
		ctrl.Close()
	}
}

// ftpFarRetr logs in to the FTP server at rawURL, opens a passive data
// connection and starts RETR name from offset; it returns both
// connections once the 150 reply came.
func ftpFarRetr(t *testing.T, rawURL, name string, offset int64) (*textproto.Conn, net.Conn) {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(rawURL, "ftp://"), "/")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	ctrl := textproto.NewConn(conn)
	ftpCommand(t, ctrl, "", 220)
	ftpCommand(t, ctrl, "USER anonymous", 331)
	ftpCommand(t, ctrl, "PASS share@", 230)
	ftpCommand(t, ctrl, "TYPE I", 200)
	msg := ftpCommand(t, ctrl, "EPSV", 229)
	port := msg[strings.Index(msg, "(|||")+4 : strings.LastIndex(msg, "|)")]
	data, err := net.DialTimeout("tcp", net.JoinHostPort(strings.Split(host, ":")[0], port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ftpCommand(t, ctrl, fmt.Sprintf("REST %d", offset), 350)
	ftpCommand(t, ctrl, "RETR "+name, 150)
	return ctrl, data
}

// ftpCommand sends line (none if empty) and reads a reply, which must
// have code want unless want is 0; it returns the reply's text.
func ftpCommand(t *testing.T, c *textproto.Conn, line string, want int) string {
	t.Helper()
	if line != "" {
		if err := c.PrintfLine("%s", line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	code, msg, err := c.ReadResponse(want)
	if want != 0 && err != nil {
		t.Fatalf("%q: %d %s: %v", line, code, msg, err)
	}
	return msg
}

// waitBusy waits until process pid has used 200 ms of CPU more, so the
// test knows the work it is about to stop is running.
func waitBusy(t *testing.T, pid int) {
	t.Helper()
	start, deadline := processCPU(t, pid), time.Now().Add(10*time.Second)
	for processCPU(t, pid)-start < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("share did not start the catch-up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processCPU is the user and system time process pid has used.
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		testutil.Skip(t, "no /proc to measure CPU: "+err.Error())
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
