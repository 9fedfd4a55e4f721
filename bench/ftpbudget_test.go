package bench

import (
	"context"
	"errors"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// BenchmarkFTPBudget fills share's FTP caps (200 sessions, 20 per client
// address) with clients doing the worst of issue 9's findings 1-3 at once,
// against a folder of 20,000 files, and reports the server's peak RSS and
// how long a client from another address waits for its replies:
//
//	go test -run '^$' -bench FTPBudget -benchtime 1x ./bench
//
// Per address (9 addresses with 20 sessions, one with 19, so that one
// place is left for the probe): 7 sessions LIST the folder and never read
// the data connection, 7 send STAT of it and never read the reply, 3 send
// costly and huge patterns and hang up, over and over, and 3 flood NOOP
// lines during a download they never read. Every run is bounded: the
// clients stop budgetHold after every LIST and STAT session is in place,
// or after budgetSetup.
func BenchmarkFTPBudget(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.1.1:0")
	if err != nil {
		testutil.Skip(b, "no 127.0.0.0/8 source addresses: "+err.Error())
	}
	ln.Close()
	bin := testutil.BuildShare(b)
	// Short names make listings the kernel's socket buffers take whole;
	// long ones make listings of 4 MiB that the server must hold.
	for _, nameLen := range []int{40, 170} {
		b.Run(fmt.Sprintf("names-%dB", nameLen), func(b *testing.B) {
			dir := budgetFixture(b, nameLen)
			for range b.N {
				srv := startShareBudget(b, bin, dir)
				rss, probe, refused, cpu := runBudget(b, srv)
				srv.stop()
				b.Logf("peak RSS %.1f MiB, longest probe reply %s, 421 over the cap %s, server CPU %.2f cores",
					float64(rss)/1024, probe.Round(time.Millisecond), refused.Round(time.Millisecond), cpu)
				b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
				b.ReportMetric(float64(probe.Milliseconds()), "probe-reply-ms")
				b.ReportMetric(float64(refused.Milliseconds()), "refused-ms")
				b.ReportMetric(cpu, "server-CPU-cores")
				if probe > 2*time.Second || refused > 2*time.Second {
					b.Errorf("a client from another address waited %s for a reply (%s for the 421 when full); want under 2 s", probe, refused)
				}
			}
		})
	}
}

const (
	budgetFiles = 20_000            // files in the folder the clients list
	budgetSetup = 120 * time.Second // how long the LIST and STAT sessions may take to be in place
	budgetHold  = 5 * time.Second   // how long all keep on after that
	budgetHolds = 140               // LIST and STAT sessions: 14 per address
	budgetAddrs = 10                // client addresses, 127.0.1.1 and on
)

// budgetFixture makes the folder: many/ with budgetFiles empty files of
// names nameLen bytes long, and a 1 GiB sparse file to download.
func budgetFixture(b *testing.B, nameLen int) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "many"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range budgetFiles {
		base := fmt.Sprintf("report-%05d-final-version-2", i)
		base += strings.Repeat("-", max(nameLen-len(base)-4, 0)) + ".txt"
		name := filepath.Join(dir, "many", base)
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "huge.bin"))
	if err == nil {
		err = errors.Join(f.Truncate(1<<30), f.Close())
	}
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// budgetServer is share running as its own process.
type budgetServer struct {
	addr string
	pid  int
	stop func()
}

// startShareBudget runs share with its default FTP caps and waits for its
// greeting.
func startShareBudget(b *testing.B, bin, dir string) *budgetServer {
	b.Helper()
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--ftp", addr, "--no-http", "--quiet", dir)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s := &budgetServer{addr: addr, pid: cmd.Process.Pid, stop: func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := budgetDial("127.0.0.1", addr, false); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			s.stop()
			b.Fatalf("share does not answer FTP on %s", addr)
		}
	}
}

// budgetConn is a raw FTP control connection.
type budgetConn struct {
	net.Conn
	tp *textproto.Conn
}

// budgetDial connects from address from (a receive buffer of a few KiB if
// small) and reads the greeting.
func budgetDial(from, addr string, small bool) (*budgetConn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	if small {
		d = testutil.SmallWindow(from)
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(budgetSetup + budgetHold + 30*time.Second))
	c := &budgetConn{Conn: nc, tp: textproto.NewConn(nc)}
	if _, _, err := c.tp.ReadResponse(220); err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// cmd sends a line and reads the reply, wanting code.
func (c *budgetConn) cmd(line string, code int) (string, error) {
	if err := c.tp.PrintfLine("%s", line); err != nil {
		return "", err
	}
	_, msg, err := c.tp.ReadResponse(code)
	return msg, err
}

// login logs in anonymously; a server may let anonymous in without asking
// for a password (vsftpd's no_anon_password).
func (c *budgetConn) login() error {
	if err := c.tp.PrintfLine("USER anonymous"); err != nil {
		return err
	}
	code, msg, err := c.tp.ReadResponse(0)
	switch {
	case err != nil:
		return err
	case code == 230:
		return nil
	case code != 331:
		return fmt.Errorf("USER anonymous: %d %s", code, msg)
	}
	_, err = c.cmd("PASS x", 230)
	return err
}

// budgetSession is budgetDial and a login.
func budgetSession(from, addr string, small bool) (*budgetConn, error) {
	c, err := budgetDial(from, addr, small)
	if err != nil {
		return nil, err
	}
	if err := c.login(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// epsv opens a passive data connection (with a small receive buffer). It
// tries again while the address holds its quota of waiting passive ports.
func (c *budgetConn) epsv(from string) (net.Conn, error) {
	addr, err := c.epsvAddr()
	if err != nil {
		return nil, err
	}
	return testutil.SmallWindow(from).Dial("tcp", addr)
}

// epsvAddr sends EPSV and returns the address of the passive data port.
func (c *budgetConn) epsvAddr() (string, error) {
	msg, err := c.cmd("EPSV", 229)
	// Listings waiting for a slot hold their passive ports meanwhile.
	for try := 0; err != nil && strings.HasPrefix(err.Error(), "425") && try < 2400; try++ {
		time.Sleep(50 * time.Millisecond)
		msg, err = c.cmd("EPSV", 229)
	}
	if err != nil {
		return "", err
	}
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i {
		return "", fmt.Errorf("EPSV reply %q", msg)
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	return net.JoinHostPort(host, msg[i+4:j]), nil
}

// floodSkip is set once one flooder has left its place to the probe.
var floodSkip atomic.Bool

// holding counts the LIST and STAT sessions whose listing the server has
// begun to send.
var holding atomic.Int64

// hostile is one kind of hostile session; it returns when ctx ends.
type hostile func(ctx context.Context, from, addr string) error

// runBudget runs the hostile sessions, then the probes, and returns the
// peak RSS (KiB), the probe's login time, the time to the 421 of a client
// over the cap, and the server's CPU use in cores.
func runBudget(b *testing.B, srv *budgetServer) (int64, time.Duration, time.Duration, float64) {
	ctx, cancel := context.WithTimeout(context.Background(), budgetSetup+budgetHold)
	defer cancel()
	start := time.Now()
	cpu0 := treeCPU(srv.pid)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	spawn := func(n int, run hostile) {
		for a := range budgetAddrs {
			from := fmt.Sprintf("127.0.1.%d", a+1)
			for range n {
				wg.Go(func() {
					if err := run(ctx, from, srv.addr); err != nil && ctx.Err() == nil {
						errs <- err
					}
				})
			}
		}
	}
	// The LIST and STAT sessions first: listings are built a few at a
	// time, so they take a while to be all in place.
	spawn(7, holdList)
	spawn(7, holdStat)
	for holding.Load() < budgetHolds && time.Since(start) < budgetSetup {
		time.Sleep(200 * time.Millisecond)
	}
	b.Logf("%d of %d LIST and STAT sessions had their listing under way after %s",
		holding.Swap(0), budgetHolds, time.Since(start).Round(time.Second))
	// Then the pattern senders and the flooders; one place stays free for
	// the probe.
	spawn(3, globLoop)
	spawn(3, floodDuringRetr)
	time.Sleep(3 * time.Second)
	probe, err := probeLogin("127.0.2.1", srv.addr)
	if err != nil {
		b.Errorf("probe from 127.0.2.1: %v", err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("load average during the run: %s", strings.TrimSpace(string(load)))
	refused := probeRefused("127.0.2.2", srv.addr)
	time.Sleep(budgetHold)
	cancel()
	floodSkip.Store(false)
	rss := vm(srv.pid, "VmHWM")
	cpu := (treeCPU(srv.pid) - cpu0) / time.Since(start).Seconds()
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			b.Logf("hostile client: %v", err)
		}
	}
	if n > 0 {
		b.Logf("%d hostile clients failed to do their part", n)
	}
	return rss, probe, refused, cpu
}

// probeLogin times the greeting, a login and a NOOP from another address
// and returns the longest wait for one reply.
func probeLogin(from, addr string) (time.Duration, error) {
	start := time.Now()
	c, err := budgetDial(from, addr, false)
	// Sessions of the hanging-up clients may not be gone yet: the server
	// is full for a moment, and says so (421) at once.
	for try := 0; err != nil && strings.Contains(err.Error(), "421") && try < 50; try++ {
		time.Sleep(100 * time.Millisecond)
		start = time.Now()
		c, err = budgetDial(from, addr, false)
	}
	if err != nil {
		return time.Since(start), err
	}
	defer c.Close()
	longest := time.Since(start)
	for _, step := range []struct {
		line string
		code int
	}{{"USER anonymous", 331}, {"PASS x", 230}, {"NOOP", 200}} {
		start = time.Now()
		if _, err := c.cmd(step.line, step.code); err != nil {
			return time.Since(start), err
		}
		longest = max(longest, time.Since(start))
	}
	return longest, nil
}

// probeRefused times the reply to a client over the total cap of 200; it
// holds the probe's place with one more session meanwhile.
func probeRefused(from, addr string) time.Duration {
	holder, err := budgetDial("127.0.2.1", addr, false)
	if err == nil {
		defer holder.Close()
	}
	start := time.Now()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return time.Since(start)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = nc.Read(make([]byte, 512)) // 421, or the greeting if not full
	return time.Since(start)
}

// holdList lists the folder and never reads the data connection. Told
// the server is busy, it asks again, as a hostile client would.
func holdList(ctx context.Context, from, addr string) error {
	c, err := budgetSession(from, addr, true)
	if err != nil {
		return err
	}
	defer c.Close()
	for ctx.Err() == nil {
		dc, err := c.epsv(from)
		if err != nil {
			return err
		}
		defer dc.Close()
		_, err = c.cmd("LIST many", 150)
		if err == nil {
			holding.Add(1)
			break
		}
		if !strings.HasPrefix(err.Error(), "450") {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// holdStat asks for STAT of the folder and reads no more than the first
// line of the reply (asking again when told the server is busy).
func holdStat(ctx context.Context, from, addr string) error {
	c, err := budgetSession(from, addr, true)
	if err != nil {
		return err
	}
	defer c.Close()
	for ctx.Err() == nil {
		if err := c.tp.PrintfLine("STAT many"); err != nil {
			return err
		}
		line, err := c.tp.ReadLine()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "450") {
			holding.Add(1)
			break
		}
	}
	<-ctx.Done()
	return nil
}

// globLines are the patterns globLoop sends in one packet: one costly
// within the limits, one 8 KB character class, and more of both.
var globLines = strings.Repeat("STAT many/*"+strings.Repeat("?", 250)+"\r\n"+
	"STAT many/*["+strings.Repeat("a-a", 2600)+"]\r\n", 3)

// globLoop logs in, sends globLines and hangs up, over and over.
func globLoop(ctx context.Context, from, addr string) error {
	for ctx.Err() == nil {
		c, err := budgetSession(from, addr, false)
		if err != nil {
			time.Sleep(100 * time.Millisecond) // its place is not free yet
			continue
		}
		_, _ = io.WriteString(c, globLines)
		// Read the first reply: the work of one line is done.
		_, _, _ = c.tp.ReadResponse(0)
		c.Close()
	}
	return nil
}

// floodDuringRetr starts a download it never reads and floods NOOP lines.
func floodDuringRetr(ctx context.Context, from, addr string) error {
	if from == fmt.Sprintf("127.0.1.%d", budgetAddrs) && floodSkip.CompareAndSwap(false, true) {
		return nil // this place is the probe's
	}
	c, err := budgetSession(from, addr, false)
	if err != nil {
		return err
	}
	defer c.Close()
	dc, err := c.epsv(from)
	if err != nil {
		return err
	}
	defer dc.Close()
	if _, err := c.cmd("RETR huge.bin", 150); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetWriteDeadline(time.Now()) })
	defer stop()
	flood := []byte(strings.Repeat("NOOP\r\n", 1000))
	for ctx.Err() == nil {
		if _, err := c.Write(flood); err != nil {
			break
		}
	}
	return nil
}
