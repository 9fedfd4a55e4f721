package bench

import (
	"crypto/rand"
	"errors"
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
)

// encUID names the throwaway key the benchmark encrypts to.
const encUID = "bench <bench@example.org>"

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

// writeRepeated writes size bytes made of one random MiB repeated: quicker
// than writeRandom where only the size matters.
func writeRepeated(name string, size int) error {
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	for written := 0; written < size; written += len(block) {
		if _, err := f.Write(block); err != nil {
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
