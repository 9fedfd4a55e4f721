package bench

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// encSize is the plaintext size of the encrypted download benchmark.
const encSize = 256 << 20

// encUID names the throwaway key the benchmark encrypts to.
const encUID = "bench <bench@example.org>"

// BenchmarkEncryptedDownload measures share --recipient serving a 256 MiB
// file as NAME.gpg to Go's HTTP client (the body read into io.Discard),
// against gpg --encrypt of the same file to the same key (cv25519, AES-256,
// no compression, output to /dev/null), on the same machine in the same
// run. Both report MB/s of plaintext, and cpu-s/GiB: the CPU time of the
// encrypting process (share, without the client; gpg) per GiB:
//
//	go test -run '^$' -bench '^BenchmarkEncryptedDownload$' -count 1 ./bench
//
// SHARE_BIN names a share binary to use instead of building one. -count
// repeats each side in a row; for samples interleaved in time, run
// that command several times and append the outputs, then compare with
// benchstat. The target (issue 4) is share at 1.5x gpg or more.
func BenchmarkEncryptedDownload(b *testing.B) {
	gpg := testutil.NeedTool(b, "gpg")
	testutil.NeedTool(b, "gpgconf")
	testutil.NeedTool(b, "go")
	fx := encFixture(b, gpg)

	b.Run("share", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		defer c.CloseIdleConnections()
		buf := make([]byte, 256<<10)
		url := fx.base + "/plain.bin.gpg"
		if _, err := encDownload(c, url, buf); err != nil { // warm-up: page cache, connection
			b.Fatal(err)
		}
		b.SetBytes(encSize)
		cpu0 := encProcCPU(fx.pid)
		b.ResetTimer()
		for range b.N {
			if _, err := encDownload(c, url, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if cpu0 >= 0 {
			encReportCPU(b, encProcCPU(fx.pid)-cpu0)
		}
	})

	b.Run("gpg", func(b *testing.B) {
		args := []string{"--batch", "--no-tty", "--trust-model", "always", "--compress-algo", "none",
			"--cipher-algo", "AES256", "--yes", "-r", "bench@example.org", "-e", "-o", os.DevNull, fx.plain}
		var cpu time.Duration
		run := func() {
			cmd := exec.Command(gpg, args...)
			cmd.Env = fx.gpgEnv
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		run() // warm-up
		cpu = 0
		b.SetBytes(encSize)
		b.ResetTimer()
		for range b.N {
			run()
		}
		b.StopTimer()
		encReportCPU(b, cpu)
	})
}

// encFixtures is what both sides share: the file, the key, the server.
type encFixtures struct {
	plain  string   // the 256 MiB file
	gpgEnv []string // environment with the throwaway GNUPGHOME
	base   string   // http://127.0.0.1:PORT of share --recipient
	pid    int      // of share
}

// encFixture makes a folder with a 256 MiB random file on tmpfs where there
// is one, a throwaway GnuPG home with a cv25519 key, builds share and starts
// it encrypting to that key. Everything is stopped and removed at the end
// of the benchmark.
func encFixture(b *testing.B, gpg string) *encFixtures {
	b.Helper()
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm" // tmpfs: the disk stays out of the measurement
	}
	tmp, err := os.MkdirTemp(base, "share-bench-enc-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(tmp) })

	keyFile, gpgEnv := encMakeKey(b, gpg, tmp)
	fx := &encFixtures{gpgEnv: gpgEnv}

	dir := filepath.Join(tmp, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	fx.plain = filepath.Join(dir, "plain.bin")
	if err := writeRandom(fx.plain, encSize); err != nil {
		b.Fatal(err)
	}

	bin := testutil.BuildShare(b)
	fx.base, fx.pid = encStartShare(b, bin, keyFile, dir, tmp)
	return fx
}

// encMakeKey makes a throwaway GnuPG home (removed at the end) with a
// cv25519 key for encUID, and exports the key to a file in tmp.
func encMakeKey(b *testing.B, gpg, tmp string) (keyFile string, gpgEnv []string) {
	b.Helper()
	// GnuPG's agent socket path is limited in length: a short home in /tmp.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		b.Fatal(err)
	}
	gpgEnv = append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
	b.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "all")
		kill.Env = gpgEnv
		kill.Run()
		os.RemoveAll(home)
	})
	gpgRun := func(args ...string) []byte {
		cmd := exec.Command(gpg, append([]string{"--batch", "--no-tty", "--passphrase", "", "--pinentry-mode", "loopback"}, args...)...)
		cmd.Env = gpgEnv
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	gpgRun("--quick-gen-key", encUID, "ed25519", "cert,sign", "never")
	fpr := ""
	for line := range strings.SplitSeq(string(gpgRun("--with-colons", "--list-keys", encUID)), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		b.Fatal("no fingerprint for the benchmark key")
	}
	gpgRun("--quick-add-key", fpr, "cv25519", "encr", "never")
	keyFile = filepath.Join(tmp, "key.asc")
	if err := os.WriteFile(keyFile, gpgRun("--armor", "--export", encUID), 0o600); err != nil {
		b.Fatal(err)
	}
	return keyFile, gpgEnv
}

// writeRandom writes size random bytes (a whole number of MiB) to name.
func writeRandom(name string, size int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for range size / len(chunk) {
		rand.Read(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// encStartShare starts share --recipient on a free loopback port, waits
// until it answers and stops it (SIGTERM, then SIGKILL) at the end.
func encStartShare(b *testing.B, bin, keyFile, dir, tmp string) (string, int) {
	b.Helper()
	return benchShare(b, bin, filepath.Join(tmp, "share-enc.log"), "--recipient", keyFile, dir)
}

// benchShare starts share with args, HTTP only on a free loopback port,
// logging to logPath; it waits until share answers and stops it
// (SIGTERM, then SIGKILL) at the end. It returns the base URL and PID.
func benchShare(b *testing.B, bin, logPath string, args ...string) (string, int) {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"--no-ftp", "--quiet", "--http", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own configuration folder: the download secret of --recipient.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Dir(logPath))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			b.Fatalf("share exited before answering: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			b.Fatalf("share does not answer on %s: %v\n%s", base, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// encProcCPU is the user and system time process pid has used, or -1
// where /proc cannot tell (fields 14 and 15 of /proc/PID/stat, in clock
// ticks of 1/100 s on Linux).
func encProcCPU(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// encReportCPU reports the encrypting process's CPU time per GiB of
// plaintext: unlike MB/s, it hardly moves when other programs load the
// machine, and it is what a busy server pays.
func encReportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(cpu.Seconds()/(float64(b.N)*encSize/(1<<30)), "cpu-s/GiB")
}

// encDownload fetches url into io.Discard through buf and checks that the
// body is as long as its Content-Length, which share computes up front.
func encDownload(c *http.Client, url string, buf []byte) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	// io.Discard's ReadFrom would read in 8 KiB pieces; hide it.
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, buf)
	if err != nil {
		return n, err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("GET %s: %d bytes of %d", url, n, resp.ContentLength)
	}
	if n < encSize {
		return n, fmt.Errorf("GET %s: %d bytes, less than the file", url, n)
	}
	return n, nil
}
