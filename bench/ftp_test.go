package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/share/ftpshare"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// BenchmarkFTP300Clients measures share's FTP server under 300 clients at
// once; BenchmarkCPUFTP (cpu_test.go) compares it with vsftpd and pyftpdlib.
const (
	ftpClients = 300  // clients of BenchmarkFTP300Clients
	ftpListLen = 1000 // files in the folder they list
)

// ftpHelperEnv makes the test binary run TestFTPServeHelper as a server.
const ftpHelperEnv = "BENCH_FTP_SERVE_DIR"

// TestFTPServeHelper is share's FTP server as a child process of the FTP
// benchmarks: it serves the folder named by BENCH_FTP_SERVE_DIR with caps
// high enough for BenchmarkFTP300Clients, prints its address and runs until
// stdin closes.
func TestFTPServeHelper(t *testing.T) {
	dir := os.Getenv(ftpHelperEnv)
	if dir == "" {
		return // only as a child of the FTP benchmarks
	}
	view, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ftpshare.New(view, ftpshare.Options{MaxConns: 2 * ftpClients, MaxConnsPerIP: 2 * ftpClients})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	fmt.Printf("ADDR %s\n", ln.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// ftpPeer is one FTP server under test.
type ftpPeer struct {
	name string
	addr string // 127.0.0.1:PORT
	cmd  *exec.Cmd
	stop func()
}

// ftpFixture makes the folder the FTP peers serve and returns it; the
// benchmark removes it at the end.
func ftpFixture(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(benchTemp(b, "share-ftp-bench-"), "data")
	if err := os.MkdirAll(filepath.Join(dir, "list"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range ftpListLen {
		name := filepath.Join(dir, "list", fmt.Sprintf("file-%04d.txt", i))
		if err := os.WriteFile(name, []byte(strconv.Itoa(i)+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// startShareFTP runs share's FTP server in a child process.
func startShareFTP(b *testing.B, dir string) *ftpPeer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFTPServeHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), ftpHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &ftpPeer{name: "share", cmd: cmd}
	p.stop = func() { stdin.Close(); ftpWait(cmd) }
	b.Cleanup(p.stop)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			p.addr = addr
			go io.Copy(io.Discard, stdout)
			return p
		}
	}
	b.Fatal("share's FTP helper did not start")
	return nil
}

// ftpWait waits a few seconds for cmd to exit, then kills it.
func ftpWait(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// vsftpdConf is an anonymous read-only vsftpd on one loopback port, in the
// foreground, as the launching user.
const vsftpdConf = `listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={{port}}
background=NO
run_as_launching_user=YES
anonymous_enable=YES
no_anon_password=YES
anon_root={{dir}}
local_enable=NO
write_enable=NO
pasv_enable=YES
seccomp_sandbox=NO
xferlog_enable=NO
max_clients=1000
max_per_ip=1000
use_sendfile=YES
`

func startVsftpd(b *testing.B, dir string) *ftpPeer {
	b.Helper()
	path := "/usr/sbin/vsftpd"
	if _, err := os.Stat(path); err != nil {
		path = testutil.NeedTool(b, "vsftpd")
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	conf := filepath.Join(b.TempDir(), "vsftpd.conf")
	text := strings.NewReplacer("{{port}}", strconv.Itoa(port), "{{dir}}", dir).Replace(vsftpdConf)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	return ftpLaunch(b, "vsftpd", port, exec.Command(path, conf))
}

func startPyftpdlib(b *testing.B, dir string) *ftpPeer {
	b.Helper()
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import pyftpdlib").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		testutil.Skip(b, "pyftpdlib is not installed (apt-get install python3-pyftpdlib)")
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(python, "-m", "pyftpdlib", "-d", dir, "-p", strconv.Itoa(port), "-i", "127.0.0.1")
	return ftpLaunch(b, "pyftpdlib", port, cmd)
}

// ftpLaunch starts cmd and waits for its FTP greeting on port.
func ftpLaunch(b *testing.B, name string, port int, cmd *exec.Cmd) *ftpPeer {
	b.Helper()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", name, err)
	}
	p := &ftpPeer{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	p.stop = func() { cmd.Process.Signal(os.Interrupt); ftpWait(cmd) }
	b.Cleanup(p.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return p
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not greet on %s: %v\n%s", name, p.addr, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkFTP300Clients has 300 clients connect to share at once, log in
// and list a folder of 1,000 files, and reports how many were served, the
// time for all of them, and share's peak resident memory.
func BenchmarkFTP300Clients(b *testing.B) {
	dir := ftpFixture(b)
	p := startShareFTP(b, dir)
	pid := p.cmd.Process.Pid
	var worst int64
	served := ftpClients
	for b.Loop() {
		ok := ftpStorm(b, p.addr)
		served = min(served, ok)
		worst = max(worst, vm(pid, "VmHWM"))
	}
	b.StopTimer()
	b.ReportMetric(float64(served), "served")
	b.ReportMetric(float64(worst)/1024, "peak-RSS-MiB")
	if served != ftpClients {
		b.Errorf("%d of %d clients served", served, ftpClients)
	}
}

// ftpStorm runs the clients at once and returns how many got a listing.
func ftpStorm(b *testing.B, addr string) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	gate := make(chan struct{})
	for range ftpClients {
		wg.Go(func() {
			<-gate
			err := ftpListOnce(addr)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if ok == 0 {
				b.Logf("client: %v", err)
			}
		})
	}
	close(gate)
	wg.Wait()
	return ok
}

// ftpListOnce logs in, lists the folder over EPSV and quits.
func ftpListOnce(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	tp := textproto.NewConn(conn)
	cmd := func(want int, line string) (string, error) {
		if line != "" {
			if err := tp.PrintfLine("%s", line); err != nil {
				return "", err
			}
		}
		_, msg, err := tp.ReadResponse(want)
		return msg, err
	}
	steps := []struct {
		code int
		line string
	}{{220, ""}, {331, "USER anonymous"}, {230, "PASS bench@"}}
	for _, s := range steps {
		if _, err := cmd(s.code, s.line); err != nil {
			return fmt.Errorf("%q: %w", s.line, err)
		}
	}
	msg, err := cmd(229, "EPSV")
	if err != nil {
		return err
	}
	port := msg[strings.Index(msg, "(|||")+4 : strings.LastIndex(msg, "|)")]
	dc, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 10*time.Second)
	if err != nil {
		return err
	}
	defer dc.Close()
	_ = dc.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := cmd(150, "LIST list"); err != nil {
		return err
	}
	listing, err := io.ReadAll(dc)
	if err != nil {
		return err
	}
	if n := bytes.Count(listing, []byte("\r\n")); n != ftpListLen {
		return fmt.Errorf("listing has %d lines, want %d", n, ftpListLen)
	}
	if _, err := cmd(226, ""); err != nil {
		return err
	}
	_, err = cmd(221, "QUIT")
	return err
}
