//go:build linux && cgo

package cardtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// Paths and addresses fixed by pcscd and vpcd.
const (
	pcscdSocket = "/run/pcscd/pcscd.comm"
	vpcdAddr    = "127.0.0.1:35963"
	vpcdDriver  = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	lockPath    = "/tmp/share-cardtest.lock"
	// ReaderName is the name pcscd gives the virtual reader.
	ReaderName = "Virtual PCD 00 00"
)

// readerConf makes pcscd load the vpcd driver, listening on vpcdAddr.
const readerConf = `FRIENDLYNAME "Virtual PCD"
DEVICENAME /dev/null:0x8C7B
LIBPATH ` + vpcdDriver + `
CHANNELID 0x8C7B
`

// Stack is one test's smartcard stack.
type Stack struct {
	t     testing.TB
	dir   string
	pcscd *exec.Cmd
	card  *exec.Cmd
	// State is the virtual card's state file: it survives removal.
	State string
	bin   string // the built virtual card
}

// Lock takes the machine-wide lock for the card stack until the test ends.
// It skips (fails in CI) when the tools are missing or a pcscd that is not
// ours is running.
func Lock(t testing.TB) *Stack {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Skip(t, "the smartcard stack needs root: pcscd owns /run/pcscd")
	}
	testutil.NeedTool(t, "pcscd")
	testutil.NeedTool(t, "go")
	if _, err := os.Stat(vpcdDriver); err != nil {
		testutil.Skip(t, "vsmartcard-vpcd is not installed: "+vpcdDriver+" missing")
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("card stack lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("card stack lock: %v", err)
	}
	s := &Stack{t: t, dir: t.TempDir()}
	s.State = filepath.Join(s.dir, "card.json")
	t.Cleanup(func() {
		// Deferred: a Remove that fails the test must not leave pcscd
		// running, or every later card test skips.
		defer f.Close()
		defer s.StopPCSCD()
		s.Remove()
	})
	if c, err := net.DialTimeout("unix", pcscdSocket, time.Second); err == nil {
		c.Close()
		testutil.Skip(t, "another pcscd is running; stop it (systemctl stop pcscd.socket pcscd) to run the card tests")
	}
	return s
}

// Start locks the stack, starts pcscd with the virtual reader and inserts
// a fresh virtual card.
func Start(t testing.TB, cardFlags ...string) *Stack {
	s := Lock(t)
	s.StartPCSCD(true)
	s.Insert(cardFlags...)
	return s
}

// StartPCSCD starts pcscd in the foreground; with vpcd it has the virtual
// reader, without it no reader at all.
func (s *Stack) StartPCSCD(vpcd bool) {
	s.t.Helper()
	conf := filepath.Join(s.dir, "reader.conf.d")
	os.RemoveAll(conf)
	if err := os.Mkdir(conf, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if vpcd {
		if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(readerConf), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	log, err := os.Create(filepath.Join(s.dir, "pcscd.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command("pcscd", "--foreground", "-c", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start pcscd: %v", err)
	}
	s.pcscd = cmd
	waitFor(s.t, "pcscd socket", func() bool {
		c, err := net.Dial("unix", pcscdSocket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if vpcd {
		waitFor(s.t, "vpcd port", func() bool {
			c, err := net.Dial("tcp", vpcdAddr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}

// StopPCSCD stops our pcscd and waits for it.
func (s *Stack) StopPCSCD() {
	if s.pcscd == nil {
		return
	}
	s.pcscd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.pcscd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.pcscd.Process.Kill()
		<-done
	}
	s.pcscd = nil
	os.Remove(pcscdSocket)
}

// Insert starts the virtual card on s.State with extra flags and waits
// until pcscd reports it present.
func (s *Stack) Insert(flags ...string) {
	s.t.Helper()
	bin := s.buildCard()
	log, err := os.OpenFile(filepath.Join(s.dir, "vcard.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	args := append([]string{"-addr", vpcdAddr, "-state", s.State}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start the virtual card: %v", err)
	}
	s.card = cmd
	waitFor(s.t, "card inserted", func() bool { return cardPresent() })
}

// Remove takes the virtual card out (its process ends, closing the socket).
func (s *Stack) Remove() {
	if s.card == nil {
		return
	}
	s.card.Process.Kill()
	s.card.Wait()
	s.card = nil
	waitFor(s.t, "card removed", func() bool { return !cardPresent() })
}

// buildCard compiles testdata/vcard into the stack's folder, once per
// stack: the build cache makes it quick, and nothing outlives the test.
func (s *Stack) buildCard() string {
	s.t.Helper()
	if s.bin != "" {
		return s.bin
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(s.dir, "vcard")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/vcard")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("build testdata/vcard: %v: %s", err, out)
	}
	s.bin = bin
	return bin
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
