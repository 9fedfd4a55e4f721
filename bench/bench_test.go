package bench

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// The fixtures, the same as bench/run's.
const (
	smallSize = 4 << 10   // 4k.bin
	bigCount  = 10_000    // files in big/
	hugeSize  = 512 << 20 // 512m.bin
)

// server is one of the two peers, running on a loopback port.
type server struct {
	name string
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	stop func() // asks the server to exit, waits, kills if it lingers
}

// peers is what every benchmark shares: fixtures, share and nginx. It is set up
// once per test binary and torn down by TestMain.
type peers struct {
	tmp   string // removed at the end
	dir   string // the shared folder
	share *server
	nginx *server
}

var (
	setupOnce sync.Once
	env       *peers
	setupErr  error
	nginxPath string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := writeCPUReport(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: CPU report:", err)
		code = max(code, 1)
	}
	if env != nil {
		env.close()
	}
	testutil.RemoveShare()
	os.Exit(code)
}

// setup returns the running peers, starting them on first use. It skips (fails
// in CI) when nginx is not installed.
func setup(b *testing.B) *peers {
	b.Helper()
	nginxPath = lookNginx(b)
	testutil.NeedTool(b, "go")
	bin := testutil.BuildShare(b)
	setupOnce.Do(func() { env, setupErr = start(bin) })
	if setupErr != nil {
		b.Fatalf("bench set-up: %v", setupErr)
	}
	return env
}

// lookNginx returns nginx's path; it skips (fails in CI) when nginx is not
// installed.
func lookNginx(b *testing.B) string {
	b.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx" // Debian puts it outside a user's PATH
	}
	testutil.Skip(b, "nginx is not installed (apt-get install nginx-light)")
	return ""
}

// tmpfsBase is /dev/shm where it exists, so that the disk stays out of the
// measurement, or "" (the default temp folder).
func tmpfsBase() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// benchTemp makes a folder under tmpfsBase, readable by all (servers may
// drop privileges), removed when the benchmark ends.
func benchTemp(b *testing.B, prefix string) string {
	b.Helper()
	tmp, err := os.MkdirTemp(tmpfsBase(), prefix)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		b.Fatal(err)
	}
	return tmp
}

func start(bin string) (*peers, error) {
	tmp, err := os.MkdirTemp(tmpfsBase(), "share-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	p := &peers{tmp: tmp, dir: filepath.Join(tmp, "data")}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()
	// nginx started as root serves through workers running as an unprivileged
	// user: the folder must be world-readable.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := makeFixtures(p.dir); err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	if p.share, err = startShare(bin, p.dir, tmp); err != nil {
		return nil, err
	}
	if p.nginx, err = startNginx(p.dir, tmp); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

func (p *peers) close() {
	for _, s := range []*server{p.share, p.nginx} {
		if s != nil {
			s.stop()
		}
	}
	os.RemoveAll(p.tmp)
}

func makeFixtures(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "big"), 0o755); err != nil {
		return err
	}
	small := make([]byte, smallSize)
	rand.Read(small)
	if err := os.WriteFile(filepath.Join(dir, "4k.bin"), small, 0o644); err != nil {
		return err
	}
	for i := range bigCount {
		name := fmt.Sprintf("file-%05d-%s.txt", i, strings.Repeat("x", i%17))
		if err := os.WriteFile(filepath.Join(dir, "big", name), []byte(strconv.Itoa(i)+"\n"), 0o644); err != nil {
			return err
		}
	}
	return writeRandom(filepath.Join(dir, "512m.bin"), hugeSize)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts cmd, waits until base answers for /4k.bin and returns the server.
func launch(name, base string, cmd *exec.Cmd, stopSig os.Signal, logPath string) (*server, error) {
	return launchWith(http.DefaultClient, name, base, cmd, stopSig, logPath)
}

// launchWith is launch with the client that asks whether base answers.
func launchWith(c *http.Client, name, base string, cmd *exec.Cmd, stopSig os.Signal, logPath string) (*server, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s := &server{name: name, base: base, cmd: cmd}
	s.stop = func() {
		cmd.Process.Signal(stopSig)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(base + "/4k.bin")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited before answering: %s", name, log)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s does not answer on %s: %v\n%s", name, base, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startShare(bin, dir, tmp string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(tmp, "share.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--http", addr, "--no-ftp", "--quiet", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	return launch("share", "http://"+addr, cmd, syscall.SIGTERM, logPath)
}

// nginxConf is the peer's configuration: the same as bench/run's.
const nginxConf = `daemon off;
worker_processes 2;
pid {{tmp}}/nginx.pid;
error_log {{tmp}}/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {{tmp}}/body;
    proxy_temp_path {{tmp}}/proxy;
    fastcgi_temp_path {{tmp}}/fastcgi;
    uwsgi_temp_path {{tmp}}/uwsgi;
    scgi_temp_path {{tmp}}/scgi;
    server {
        listen {{addr}};
        root {{dir}};
        autoindex on;
    }
}
`

func startNginx(dir, tmp string) (*server, error) {
	return startNginxAt(nginxPath, dir, tmp)
}

// startNginxAt starts the nginx binary at path over dir.
func startNginxAt(path, dir, tmp string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ntmp := filepath.Join(tmp, "nginx")
	if err := os.MkdirAll(ntmp, 0o755); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := strings.NewReplacer("{{tmp}}", ntmp, "{{addr}}", addr, "{{dir}}", dir).Replace(nginxConf)
	confPath := filepath.Join(ntmp, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(ntmp, "error.log")
	cmd := exec.Command(path, "-p", ntmp, "-e", logPath, "-c", confPath)
	// SIGQUIT: graceful shutdown of the master and its workers.
	return launch("nginx", "http://"+addr, cmd, syscall.SIGQUIT, logPath)
}

// each runs bench once for share and once for nginx, as sub-benchmarks
// named share and nginx.
func each(b *testing.B, bench func(b *testing.B, s *server)) {
	p := setup(b)
	for _, s := range []*server{p.share, p.nginx} {
		b.Run(s.name, func(b *testing.B) { bench(b, s) })
	}
}

// conns is the number of concurrent connections of the request-rate
// benchmarks, the same as bench/run's wrk -c50.
const conns = 50

// client is a keep-alive client that holds at most conns connections to a
// server: without the cap, net/http dials a new connection whenever none is
// idle at that instant, and the count drifts past share's per-client cap.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}}
}

// get fetches url and returns the length of its body, or an error for
// anything but 200.
func get(c *http.Client, url string) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, nil
}

// requestRate measures GET url from conns goroutines over keep-alive connections
// and reports requests/s next to ns/op.
func requestRate(b *testing.B, url string) {
	requestRateWith(b, client(), url)
}

// requestRateWith is requestRate with a client of the caller's.
func requestRateWith(b *testing.B, c *http.Client, url string) {
	defer c.CloseIdleConnections()
	n, err := get(c, url) // warm-up, and the size for b.SetBytes
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	b.SetParallelism(max(1, conns/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := get(c, url); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkFile4K measures requests/s for one 4 KiB file.
func BenchmarkFile4K(b *testing.B) {
	each(b, func(b *testing.B, s *server) { requestRate(b, s.base+"/4k.bin") })
}

// BenchmarkListing10k measures requests/s for the HTML listing of a folder of
// 10,000 files (nginx: autoindex).
func BenchmarkListing10k(b *testing.B) {
	each(b, func(b *testing.B, s *server) { requestRate(b, s.base+"/big/") })
}

// BenchmarkDownload512M measures the throughput of one 512 MiB download at a
// time, and reports the server's peak resident memory during the downloads
// (share: the process; nginx: master and workers) above what it held before.
func BenchmarkDownload512M(b *testing.B) {
	each(b, func(b *testing.B, s *server) {
		c := client()
		defer c.CloseIdleConnections()
		url := s.base + "/512m.bin"
		pid := s.cmd.Process.Pid
		before := vm(pid, "VmRSS")
		resetPeak(pid)
		b.SetBytes(hugeSize)
		for b.Loop() {
			n, err := get(c, url)
			if err != nil {
				b.Fatal(err)
			}
			if n != hugeSize {
				b.Fatalf("GET %s: %d bytes, want %d", url, n, hugeSize)
			}
		}
		b.StopTimer()
		if before > 0 {
			b.ReportMetric(float64(vm(pid, "VmHWM")-before)/1024, "peak-RSS-growth-MiB")
			b.ReportMetric(float64(before)/1024, "RSS-before-MiB")
		}
	})
}

// vm returns a /proc/PID/status field (VmRSS, VmHWM) in KiB, summed over the
// process and its children, or 0 where /proc does not say.
func vm(pid int, field string) int64 {
	var total int64
	for _, p := range family(pid) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for line := range bytes.Lines(st) {
			if rest, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
				kb, _ := strconv.ParseInt(string(bytes.Fields(rest)[0]), 10, 64)
				total += kb
			}
		}
	}
	return total
}

// resetPeak sets VmHWM back to the current RSS (Linux 4.0 and later).
func resetPeak(pid int) {
	for _, p := range family(pid) {
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p), []byte("5"), 0)
	}
}

// family is pid and its direct children (nginx's workers).
func family(pid int) []int {
	pids := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}
