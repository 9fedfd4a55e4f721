package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// The CPU-per-byte comparison (issue 14): for each server, the CPU seconds
// its whole process tree spends per GiB sent and per 10,000 requests for a
// 4 KiB file, next to MB/s and requests/s, over interleaved rounds. One
// benchmark per comparison; the Markdown tables go to BENCH_MARKDOWN (or
// stdout) when the test binary ends. See doc.go for how to run them.

// Fixtures of the CPU comparison.
const (
	cpuBigSize    = 512 << 20 // 512m.bin, downloaded whole
	cpuSmallSize  = 4 << 10   // 4k.bin and small/fNNN.bin
	cpuSmallFiles = 1000      // small/f000.bin … small/f999.bin, for FTP
	cpuFTPConns   = 4         // parallel FTP sessions fetching small files
	nginxWorkers  = 2         // worker_processes in nginxConf
	clockTicks    = 100       // USER_HZ, the unit of /proc/PID/stat's times on Linux
)

// cpuKnobs are the environment settings of a run.
type cpuKnobs struct {
	rounds    int           // BENCH_ROUNDS: interleaved rounds
	downloads int           // BENCH_DOWNLOADS: 512 MiB downloads per server per round
	duration  time.Duration // BENCH_DURATION: one wrk run per server per round
	ftpSmall  int           // BENCH_FTP_REQUESTS: 4 KiB FTP downloads per server per round
}

func cpuSettings(b *testing.B) cpuKnobs {
	b.Helper()
	k := cpuKnobs{
		rounds:    envInt(b, "BENCH_ROUNDS", 5, 1, 100),
		downloads: envInt(b, "BENCH_DOWNLOADS", 2, 1, 20),
		ftpSmall:  envInt(b, "BENCH_FTP_REQUESTS", 2000, cpuFTPConns, cpuFTPConns*cpuSmallFiles),
		duration:  3 * time.Second,
	}
	if v := os.Getenv("BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Minute {
			b.Fatalf("BENCH_DURATION=%q: want a duration from 1s to 1m", v)
		}
		k.duration = d
	}
	cpuReport.Lock()
	defer cpuReport.Unlock()
	cpuReport.knobs = k
	return k
}

// envInt reads a whole number from the environment, def when unset.
func envInt(b *testing.B, name string, def, lo, hi int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		b.Fatalf("%s=%q: want a number from %d to %d", name, v, lo, hi)
	}
	return n
}

// cpuFolder makes the served folder on tmpfs where there is one: 512m.bin,
// 4k.bin and small/ with cpuSmallFiles files of 4 KiB, world-readable
// (nginx's workers and vsftpd may drop privileges). It is removed at the end.
func cpuFolder(b *testing.B) (tmp, dir string) {
	b.Helper()
	tmp = benchTemp(b, "share-bench-cpu-")
	dir = filepath.Join(tmp, "data")
	if err := os.MkdirAll(filepath.Join(dir, "small"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := writeRandom(filepath.Join(dir, "512m.bin"), cpuBigSize); err != nil {
		b.Fatal(err)
	}
	small := bytes.Repeat([]byte("0123456789abcdef"), cpuSmallSize/16)
	if err := os.WriteFile(filepath.Join(dir, "4k.bin"), small, 0o644); err != nil {
		b.Fatal(err)
	}
	for i := range cpuSmallFiles {
		if err := os.WriteFile(filepath.Join(dir, "small", fmt.Sprintf("f%03d.bin", i)), small, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return tmp, dir
}

// cpuServer is one server whose process tree is measured.
type cpuServer struct {
	name  string
	url   string // http://127.0.0.1:PORT or ftp://127.0.0.1:PORT
	pid   int    // root of the tree
	procs int    // processes in the tree at rest (nginx: master and workers)
}

// cpuOf runs f and returns the CPU seconds s's process tree spent meanwhile.
// It waits for the tree to be back at rest before each reading, so that the
// processes of a session (vsftpd) have exited and been reaped: their time
// is then in their parent's cutime and cstime, counted once.
func (s *cpuServer) cpuOf(b *testing.B, f func()) float64 {
	b.Helper()
	s.settle(b)
	before := treeCPU(s.pid)
	f()
	s.settle(b)
	return treeCPU(s.pid) - before
}

// downloads has s send path (512m.bin, plain or encrypted) n times to curl,
// one at a time, and adds MB/s and CPU s per GiB, both of 512m.bin's
// bytes, to the rows.
func (s *cpuServer) downloads(b *testing.B, curl, path string, n int, rate, cpu *cpuRow) {
	b.Helper()
	var secs float64
	used := s.cpuOf(b, func() {
		for range n {
			size, d := curlGet(b, curl, s.url+path)
			// An encrypted message is a little longer than its plaintext.
			if size < cpuBigSize || path == "/512m.bin" && size != cpuBigSize {
				b.Fatalf("%s%s: %d bytes for a file of %d", s.url, path, size, cpuBigSize)
			}
			secs += d
		}
	})
	sent := float64(n) * cpuBigSize
	rate.add(s.name, sent/secs/1e6)
	cpu.add(s.name, used/(sent/(1<<30)))
}

// requests runs load, which returns how many requests it made and in how
// long, and adds requests/s and CPU s per 10,000 requests to the rows.
func (s *cpuServer) requests(b *testing.B, rate, cpu *cpuRow, load func() (int64, float64)) {
	b.Helper()
	var n int64
	var secs float64
	used := s.cpuOf(b, func() { n, secs = load() })
	rate.add(s.name, float64(n)/secs)
	cpu.add(s.name, used/float64(n)*1e4)
}

// settle waits, at most 5 s, for s's tree to have s.procs processes.
func (s *cpuServer) settle(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := len(tree(s.pid))
		if n == s.procs {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d processes, want %d at rest", s.name, n, s.procs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tree returns pid and all its descendants (zombies included, until reaped).
func tree(pid int) []int {
	pids := []int{pid}
	for i := 0; i < len(pids) && i < 10_000; i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pids[i]))
		for _, t := range tasks {
			kids, _ := os.ReadFile(t)
			for _, f := range strings.Fields(string(kids)) {
				if c, err := strconv.Atoi(f); err == nil {
					pids = append(pids, c)
				}
			}
		}
	}
	return pids
}

// treeCPU returns the CPU seconds of pid's tree: for every process in it,
// utime and stime (all its threads, the exited ones too) plus cutime and
// cstime (its children that have exited and been reaped).
func treeCPU(pid int) float64 {
	var ticks int64
	for _, p := range tree(pid) {
		ticks += procTicks(p, true)
	}
	return float64(ticks) / clockTicks
}

// procTicks reads /proc/PID/stat: utime and stime, plus cutime and cstime
// when reaped is set, in clock ticks; 0 when the process is gone.
func procTicks(pid int, reaped bool) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	idx := []int{11, 12} // utime stime (fields 14, 15)
	if reaped {
		idx = append(idx, 13, 14) // cutime cstime
	}
	var ticks int64
	for _, i := range idx {
		if i < len(fields) {
			n, _ := strconv.ParseInt(fields[i], 10, 64)
			ticks += n
		}
	}
	return ticks
}

// rotate returns s starting at index r (mod len), so that no server always
// runs right after the same other one.
func rotate[T any](s []T, r int) []T {
	r %= len(s)
	return append(slices.Clone(s[r:]), s[:r]...)
}

// curlGet downloads url into /dev/null and returns its size and the time
// of the transfer itself (log-in and connection set-up left out).
func curlGet(b *testing.B, curl, url string) (int64, float64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "-o", os.DevNull, "--connect-timeout", "5",
		"-w", "%{size_download} %{time_pretransfer} %{time_total}", url).Output()
	if err != nil {
		b.Fatalf("curl %s: %v", url, err)
	}
	var size int64
	var pre, total float64
	if _, err := fmt.Sscan(string(out), &size, &pre, &total); err != nil || total <= pre {
		b.Fatalf("curl %s: %q", url, out)
	}
	return size, total - pre
}

// wrkRun puts url under wrk -t2 -c50 for d and returns the requests done
// and wrk's own time; non-2xx answers fail the benchmark, socket errors
// are returned as a note.
func wrkRun(b *testing.B, wrk, url string, d time.Duration) (int64, float64, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, "-t2", "-c50", "-d"+d.String(), "--timeout", "10s", url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		b.Fatalf("wrk %s: error answers\n%s", url, out)
	}
	var reqs int64
	var secs float64
	note := ""
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == "requests" && f[2] == "in" {
			reqs, _ = strconv.ParseInt(f[0], 10, 64)
			el, _ := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			secs = el.Seconds()
		}
		if strings.Contains(line, "Socket errors") {
			note = strings.TrimSpace(line)
		}
	}
	if reqs == 0 || secs == 0 {
		b.Fatalf("wrk %s: no request count in\n%s", url, out)
	}
	return reqs, secs, note
}

// ftpSmallFiles has cpuFTPConns sessions at once fetch n files of 4 KiB
// in all from small/, each session over one control connection with a
// data connection per file (EPSV, RETR), and returns n and the wall time.
// The client is Go's: curl 7.88 idles up to 200 ms before it dials a
// passive data port, which would swamp a 4 KiB transfer.
func ftpSmallFiles(b *testing.B, addr string, n int) (int64, float64) {
	b.Helper()
	per := n / cpuFTPConns
	errs := make([]error, cpuFTPConns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cpuFTPConns {
		wg.Go(func() { errs[i] = ftpFetchSmall(addr, per) })
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("FTP %s: %v", addr, err)
	}
	return int64(per * cpuFTPConns), secs
}

// ftpFetchSmall logs in to addr and downloads small/f000.bin onwards, n
// files, checking each one's size.
func ftpFetchSmall(addr string, n int) error {
	c, err := budgetSession("127.0.0.1", addr, false)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := c.cmd("TYPE I", 200); err != nil {
		return err
	}
	for i := range n {
		data, err := c.epsvAddr()
		if err != nil {
			return err
		}
		dc, err := net.DialTimeout("tcp", data, 5*time.Second)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("small/f%03d.bin", i)
		_, err = c.cmd("RETR "+name, 1) // 150 or 125
		var got int64
		if err == nil {
			_ = dc.SetDeadline(time.Now().Add(time.Minute))
			got, err = io.Copy(io.Discard, dc)
		}
		dc.Close()
		if err == nil {
			_, _, err = c.tp.ReadResponse(2) // 226 or 250
		}
		if err == nil && got != cpuSmallSize {
			err = fmt.Errorf("%d bytes, want %d", got, cpuSmallSize)
		}
		if err != nil {
			return fmt.Errorf("RETR %s: %w", name, err)
		}
	}
	_, err = c.cmd("QUIT", 221)
	return err
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Join(strings.Fields(string(s))[:3], " ")
}

// packageVersion is a Debian package's version, or "" where dpkg cannot tell.
func packageVersion(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", name).Output()
	if err != nil {
		return ""
	}
	return name + " " + string(out)
}

// needLinux skips where /proc/PID/stat does not exist.
func needLinux(b *testing.B) {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("the CPU comparison reads /proc/PID/stat (Linux)")
	}
}

// startPythonHTTP runs python3 -m http.server over dir on a loopback port.
// It logs every request to stderr, as its users see it run (there is no
// switch to turn that off); the log goes to a file in tmp.
func startPythonHTTP(b *testing.B, dir, tmp string) *server {
	b.Helper()
	python := "/usr/bin/python3" // the system's, as for pyftpdlib
	if _, err := os.Stat(python); err != nil {
		python = testutil.NeedTool(b, "python3")
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(tmp, "python-http.log")
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(python, "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	s, err := launch("python", fmt.Sprintf("http://127.0.0.1:%d", port), cmd, syscall.SIGTERM, logPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.stop)
	return s
}

// BenchmarkCPUHTTP compares share (HTTP only), nginx (2 workers, sendfile)
// and python3 -m http.server over the same folder: per round and server,
// BENCH_DOWNLOADS downloads of 512m.bin with curl (MB/s, CPU s/GiB), then
// wrk -t2 -c50 on 4k.bin for BENCH_DURATION (req/s, CPU s per 10,000
// requests).
func BenchmarkCPUHTTP(b *testing.B) {
	needLinux(b)
	curl := testutil.NeedTool(b, "curl")
	wrk := testutil.NeedTool(b, "wrk")
	nginx := lookNginx(b)
	bin := testutil.BuildShare(b)
	k := cpuSettings(b)
	tmp, dir := cpuFolder(b)
	sh, err := startShare(bin, dir, tmp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sh.stop)
	ng, err := startNginxAt(nginx, dir, tmp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ng.stop)
	py := startPythonHTTP(b, dir, tmp)
	servers := []*cpuServer{
		{name: "share", url: sh.base, pid: sh.cmd.Process.Pid, procs: 1},
		{name: "nginx", url: ng.base, pid: ng.cmd.Process.Pid, procs: 1 + nginxWorkers},
		{name: "python3 http.server", url: py.base, pid: py.cmd.Process.Pid, procs: 1},
	}
	t := newCPUTable("HTTP: share, nginx, python3 -m http.server", servers)
	big := t.row("MB/s", "512 MiB download, MB/s", "%.0f")
	bigCPU := t.row("cpu-s/GiB", "server CPU s per GiB sent", "%.3f", atMost("nginx", 1.1))
	small := t.row("req/s", "4 KiB file, requests/s (wrk -t2 -c50)", "%.0f", atLeast("nginx", 0.8))
	smallCPU := t.row("cpu-s/10k", "server CPU s per 10,000 requests of 4 KiB", "%.3f")
	cpuRounds(b, curl, k, servers, [4]*cpuRow{big, bigCPU, small, smallCPU}, func(r int, s *cpuServer) (int64, float64) {
		reqs, secs, note := wrkRun(b, wrk, s.url+"/4k.bin", k.duration)
		if note != "" {
			t.note(fmt.Sprintf("round %d, %s: wrk %s", r+1, s.name, note))
		}
		return reqs, secs
	})
	t.note("peers: " + strings.Join(nonEmpty(packageVersion("nginx"), "python3 "+strings.TrimPrefix(firstLine(b, py.cmd.Path, "--version"), "Python ")), ", "))
	t.note("python3 -m http.server answers HTTP/1.0 (a connection per request) and logs every request to stderr (to a file here); share runs with --quiet, nginx with access_log off")
	t.finish(b)
}

// BenchmarkCPUFTP compares share (FTP only, the real binary), vsftpd
// (use_sendfile, one process per session) and pyftpdlib over the same
// folder: per round and server, BENCH_DOWNLOADS downloads of 512m.bin with
// curl (MB/s, CPU s/GiB), then BENCH_FTP_REQUESTS downloads of 4 KiB files
// by cpuFTPConns curl sessions at once (files/s, CPU s per 10,000 files).
func BenchmarkCPUFTP(b *testing.B) {
	needLinux(b)
	curl := testutil.NeedTool(b, "curl")
	bin := testutil.BuildShare(b)
	k := cpuSettings(b)
	_, dir := cpuFolder(b)
	sh := startShareFTPBinary(b, bin, dir)
	vs := startVsftpd(b, dir)
	py := startPyftpdlib(b, dir)
	servers := []*cpuServer{
		{name: "share", url: "ftp://" + sh.addr, pid: sh.cmd.Process.Pid, procs: 1},
		{name: "vsftpd", url: "ftp://" + vs.addr, pid: vs.cmd.Process.Pid, procs: 1},
		{name: "pyftpdlib", url: "ftp://" + py.addr, pid: py.cmd.Process.Pid, procs: 1},
	}
	t := newCPUTable("FTP: share, vsftpd, pyftpdlib", servers)
	big := t.row("MB/s", "512 MiB download, MB/s", "%.0f", atLeast("vsftpd", 1.0), atLeast("pyftpdlib", 1.0))
	bigCPU := t.row("cpu-s/GiB", "server CPU s per GiB sent", "%.3f", atMost("vsftpd", 1.0))
	small := t.row("files/s", fmt.Sprintf("4 KiB files, files/s (%d sessions at once)", cpuFTPConns), "%.0f")
	smallCPU := t.row("cpu-s/10k", "server CPU s per 10,000 files of 4 KiB", "%.3f")
	cpuRounds(b, curl, k, servers, [4]*cpuRow{big, bigCPU, small, smallCPU}, func(_ int, s *cpuServer) (int64, float64) {
		return ftpSmallFiles(b, strings.TrimPrefix(s.url, "ftp://"), k.ftpSmall)
	})
	t.note("peers: " + strings.Join(nonEmpty(packageVersion("vsftpd"), packageVersion("python3-pyftpdlib")), ", "))
	t.note("vsftpd's CPU counts its listener and every session process (reaped sessions through the listener's cutime/cstime); share's FTP logs nothing (--quiet), vsftpd has xferlog off, pyftpdlib logs every command (to a pipe the benchmark reads)")
	t.finish(b)
}

// cpuRounds warms the servers up, then runs k.rounds rounds, the order of
// the servers rotating each round: per server k.downloads downloads of
// 512m.bin into rows[0] (MB/s) and rows[1] (CPU/GiB), then per server the
// small-file load into rows[2] (rate) and rows[3] (CPU per 10,000).
func cpuRounds(b *testing.B, curl string, k cpuKnobs, servers []*cpuServer, rows [4]*cpuRow,
	small func(round int, s *cpuServer) (int64, float64)) {
	b.Helper()
	for _, s := range servers { // page cache, first connections
		curlGet(b, curl, s.url+"/4k.bin")
		s.settle(b)
	}
	for r := range k.rounds {
		order := rotate(servers, r)
		for _, s := range order {
			s.downloads(b, curl, "/512m.bin", k.downloads, rows[0], rows[1])
		}
		for _, s := range order {
			s.requests(b, rows[2], rows[3], func() (int64, float64) { return small(r, s) })
		}
		b.Logf("round %d of %d done", r+1, k.rounds)
	}
}

// startShareFTPBinary runs the share binary with FTP only on a loopback port.
func startShareFTPBinary(b *testing.B, bin, dir string) *ftpPeer {
	b.Helper()
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--no-http", "--ftp", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", dir)
	return ftpLaunch(b, "share", port, cmd)
}

// BenchmarkCPUEncrypt compares share --recipient serving 512m.bin as
// 512m.bin.gpg to curl with gpg -e -z 0 of the same file to the same key
// (cv25519, AES-256, output to /dev/null): MB/s of plaintext and CPU s per
// GiB of plaintext, BENCH_DOWNLOADS of each per round. share's 4 KiB rate
// (4k.bin.gpg under wrk) is measured too; gpg has no counterpart.
func BenchmarkCPUEncrypt(b *testing.B) {
	needLinux(b)
	curl := testutil.NeedTool(b, "curl")
	wrk := testutil.NeedTool(b, "wrk")
	gpg := testutil.NeedTool(b, "gpg")
	testutil.NeedTool(b, "gpgconf")
	bin := testutil.BuildShare(b)
	k := cpuSettings(b)
	tmp, dir := cpuFolder(b)
	keyFile, gpgEnv := encMakeKey(b, gpg, tmp)
	base, pid := benchShare(b, bin, filepath.Join(tmp, "share-enc.log"), "--recipient", keyFile, dir)
	sh := &cpuServer{name: "share", url: base, pid: pid, procs: 1}
	t := newCPUTable("Encryption: share --recipient, gpg -e -z 0", []*cpuServer{sh, {name: "gpg"}})
	big := t.row("MB/s", "512 MiB encrypted, MB/s of plaintext", "%.0f", atLeast("gpg", 1.6))
	bigCPU := t.row("cpu-s/GiB", "CPU s per GiB of plaintext", "%.3f")
	small := t.row("req/s", "4 KiB file encrypted, requests/s (wrk -t2 -c50)", "%.0f")
	smallCPU := t.row("cpu-s/10k", "server CPU s per 10,000 requests of 4 KiB", "%.3f")
	plain := filepath.Join(dir, "512m.bin")
	gpgRun := func() (wall, cpu float64) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, gpg, "--batch", "--no-tty", "--trust-model", "always", "-z", "0",
			"--cipher-algo", "AES256", "--yes", "-r", "bench@example.org", "-e", "-o", os.DevNull, plain)
		cmd.Env = gpgEnv
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("gpg: %v\n%s", err, out)
		}
		st := cmd.ProcessState
		return time.Since(start).Seconds(), (st.UserTime() + st.SystemTime()).Seconds()
	}
	curlGet(b, curl, base+"/4k.bin.gpg") // warm-up
	gpgRun()
	for r := range k.rounds {
		for _, who := range rotate([]string{"share", "gpg"}, r) {
			if who == "share" {
				sh.downloads(b, curl, "/512m.bin.gpg", k.downloads, big, bigCPU)
				continue
			}
			var secs, cpu float64
			for range k.downloads {
				w, c := gpgRun()
				secs, cpu = secs+w, cpu+c
			}
			plainBytes := float64(k.downloads) * cpuBigSize
			big.add(who, plainBytes/secs/1e6)
			bigCPU.add(who, cpu/(plainBytes/(1<<30)))
		}
		sh.requests(b, small, smallCPU, func() (int64, float64) {
			reqs, secs, _ := wrkRun(b, wrk, base+"/4k.bin.gpg", k.duration)
			return reqs, secs
		})
		b.Logf("round %d of %d done", r+1, k.rounds)
	}
	t.note("peer: " + firstLine(b, gpg, "--version") + "; gpg's CPU is its own (rusage), share's its process's, the client's not counted on either side")
	t.finish(b)
}

// firstLine is the first line a command prints, or "" when it fails.
func firstLine(b *testing.B, name string, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

// nonEmpty drops empty strings.
func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(v string) bool { return v == "" || strings.HasSuffix(v, " ") })
}
