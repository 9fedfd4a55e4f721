package ftpshare

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"example.com/share/internal/connlimit"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// dialFrom connects to addr from a chosen loopback address.
func dialFrom(t testing.TB, from, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return d.Dial("tcp", addr)
}

func TestPortBounceRefused(t *testing.T) {
	addr := startFixture(t)
	// A third party the server must never be made to connect to.
	victim, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		testutil.Skip(t, "127.0.0.2 is not usable: "+err.Error())
	}
	defer victim.Close()
	vport := victim.Addr().(*net.TCPAddr).Port
	c := dial(t, addr)
	c.login()
	c.expect(504, fmt.Sprintf("PORT 127,0,0,2,%d,%d", vport>>8, vport&0xFF))
	c.expect(425, "RETR hello.txt")
	c.expect(504, fmt.Sprintf("EPRT |1|127.0.0.2|%d|", vport))
	c.expect(425, "LIST")
	c.expect(504, "PORT 127,0,0,1,0,22") // own address, privileged port
	c.expect(504, "EPRT |1|127.0.0.1|80|")
	c.expect(501, "PORT 127,0,0,1")
	c.expect(501, "PORT 300,0,0,1,4,1")
	c.expect(501, "EPRT |1|::1|5000|")
	c.expect(522, "EPRT |3|127.0.0.1|5000|")
	_ = victim.(*net.TCPListener).SetDeadline(time.Now().Add(300 * time.Millisecond))
	if vc, err := victim.Accept(); err == nil {
		vc.Close()
		t.Fatal("the server connected to a third party")
	}

	// PORT to the client's own address works.
	own, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	port := own.Addr().(*net.TCPAddr).Port
	c.expect(200, fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xFF))
	c.expect(150, "RETR hello.txt")
	dc, err := own.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dc)
	dc.Close()
	c.expect(226, "")
	if string(got) != "hello, world\n" {
		t.Errorf("active RETR = %q", got)
	}
}

func TestPassiveConnectionNotStolen(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	dataAddr := c.epsv()
	thief, err := dialFrom(t, "127.0.0.2", dataAddr)
	if err != nil {
		testutil.Skip(t, "cannot dial from 127.0.0.2: "+err.Error())
	}
	defer thief.Close()
	dc := dialData(t, dataAddr)
	c.expect(150, "RETR big.bin")
	got, err := io.ReadAll(dc)
	dc.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.expect(226, "")
	if !bytes.Equal(got, visibleFiles["big.bin"]) {
		t.Errorf("the client got %d bytes, want %d", len(got), len(visibleFiles["big.bin"]))
	}
	_ = thief.SetReadDeadline(time.Now().Add(2 * time.Second))
	stolen, err := io.ReadAll(thief)
	if len(stolen) != 0 || (err != nil && !isReset(err)) {
		t.Errorf("the foreign connection got %d bytes, err %v; want nothing and a close", len(stolen), err)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset") }

// freePortRange finds n consecutive free ports on 127.0.0.1.
func freePortRange(t *testing.T, n int) (int, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for range 50 {
		// Below the kernel's ephemeral ports (32768 and up), so that no
		// outgoing connection of another program takes one meanwhile.
		low := 20000 + rng.IntN(12000)
		if free(low, n) {
			return low, low + n - 1
		}
	}
	t.Fatal("no free port range found")
	return 0, 0
}

// free reports how many of the n ports from low can be bound right now.
func free(low, n int) bool { return countFree(low, n) == n }

func countFree(low, n int) int {
	count := 0
	for p := low; p < low+n; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			count++
		}
	}
	return count
}

func TestPassiveRangeNotExhausted(t *testing.T) {
	low, high := freePortRange(t, 4)
	_, addr := start(t, openView(t), Options{PassiveLow: low, PassiveHigh: high}, "127.0.0.1")
	greedy := dial(t, addr)
	greedy.login()
	for range 200 {
		msg := greedy.expect(227, "PASV")
		var port, p1, p2 int
		if _, err := fmt.Sscanf(msg[strings.Index(msg, "("):], "(127,0,0,1,%d,%d)", &p1, &p2); err != nil {
			t.Fatalf("PASV reply %q: %v", msg, err)
		}
		if port = p1<<8 | p2; port < low || port > high {
			t.Fatalf("PASV port %d outside %d-%d", port, low, high)
		}
	}
	if n := countFree(low, 4); n != 3 {
		t.Errorf("after 200 PASV in one session %d of 4 ports are free, want 3", n)
	}
	other := dial(t, addr)
	other.login()
	if got := other.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("second session RETR = %q", got)
	}
	greedy.expect(221, "QUIT")
	deadline := time.Now().Add(2 * time.Second)
	for countFree(low, 4) != 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := countFree(low, 4); n != 4 {
		t.Errorf("after QUIT %d of 4 ports are free", n)
	}
}

func TestIdleClientDropped(t *testing.T) {
	_, addr := start(t, openView(t), Options{IdleTimeout: time.Second}, "127.0.0.1")
	busy := dial(t, addr)
	busy.login()
	idle := dial(t, addr)
	idle.login()
	for range 8 { // 1.6 s of NOOPs keep a client in
		time.Sleep(200 * time.Millisecond)
		busy.expect(200, "NOOP")
	}
	_ = idle.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	idle.expect(421, "")
	if _, err := idle.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("idle connection still open: %v", err)
	}
	busy.expect(200, "NOOP")
}

func TestLongCommandLineClosesOnlyThatConnection(t *testing.T) {
	addr := startFixture(t)
	other := dial(t, addr)
	other.login()
	long := dial(t, addr)
	go func() {
		// The server hangs up part-way; the write error is expected.
		_, _ = long.conn.Write(append([]byte("NOOP "), bytes.Repeat([]byte("a"), 10<<20)...))
	}()
	_ = long.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	code, msg, err := long.tp.ReadResponse(0)
	if code != 500 {
		t.Errorf("10 MB line: got %d %q %v, want 500", code, msg, err)
	}
	if _, err := long.conn.Read(make([]byte, 1)); err == nil {
		t.Error("connection with a 10 MB line still open")
	}
	other.expect(200, "NOOP")
	if got := other.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("other session RETR = %q", got)
	}
	dial(t, addr).login()
}

func TestRandomBytesOnControlPort(t *testing.T) {
	addr := startFixture(t)
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range 20 {
		junk := make([]byte, 1+rng.IntN(64<<10))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
			if i%2 == 0 && rng.IntN(40) == 0 {
				junk[j] = '\n' // half the connections get many short lines
			}
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Write(junk)
		_ = conn.(*net.TCPConn).CloseWrite() // the server sees the end at once
		// Drain replies until the server hangs up or goes quiet.
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
		conn.Close()
	}
	c := dial(t, addr)
	c.login()
	if got := c.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR after junk = %q", got)
	}
}

func TestConnectionCaps(t *testing.T) {
	_, addr := start(t, openView(t), Options{MaxConns: 3, MaxConnsPerIP: 2}, "127.0.0.1")
	a := dial(t, addr)
	dial(t, addr)
	refused := func(from, want string) {
		t.Helper()
		conn, err := dialFrom(t, from, addr)
		if err != nil {
			testutil.Skip(t, "cannot dial from "+from+": "+err.Error())
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(got), "421 ") || !strings.Contains(string(got), want) {
			t.Errorf("connection from %s got %q, want 421 %q", from, got, want)
		}
	}
	refused("127.0.0.1", "from your address (2)")
	third, err := dialFrom(t, "127.0.0.2", addr)
	if err != nil {
		testutil.Skip(t, "cannot dial from 127.0.0.2")
	}
	defer third.Close()
	refused("127.0.0.3", "Too many connections (3)")
	a.expect(221, "QUIT")
	deadline := time.Now().Add(3 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		line := make([]byte, 3)
		_, _ = io.ReadFull(conn, line)
		conn.Close()
		if string(line) == "220" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a place freed by QUIT was not given back; got %q", line)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShutdownClosesSessions(t *testing.T) {
	srv, err := New(openView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	idle := dial(t, addr)
	idle.login()
	mover := dial(t, addr)
	mover.login()
	dc := dialData(t, mover.epsv())
	mover.expect(150, "RETR big.bin")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	idle.expect(421, "")
	got, err := io.ReadAll(dc) // the transfer in flight finishes
	dc.Close()
	if err != nil || len(got) != len(visibleFiles["big.bin"]) {
		t.Errorf("transfer during shutdown: %d bytes, %v", len(got), err)
	}
	mover.expect(226, "")
	mover.expect(421, "")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestShutdownCutsStalledTransfer(t *testing.T) {
	srv, err := New(openView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin") // never read: the send stalls
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a stalled transfer = %v, want the deadline", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(c.conn); err != nil && !isReset(err) {
		t.Errorf("control connection not closed: %v", err)
	}
}

// panicView panics on one name, as a buggy view might.
type panicView struct{ sharefs.View }

func (v panicView) Open(name string) (sharefs.File, error) {
	if strings.HasSuffix(name, "hello.txt") {
		panic("view bug")
	}
	return v.View.Open(name)
}

func TestPanicGetsAReply(t *testing.T) {
	_, addr := start(t, panicView{openView(t)}, Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	c.epsv()
	c.expect(451, "RETR hello.txt")
	c.expect(200, "NOOP")
	if got := c.get("RETR sub/deeper/leaf.txt"); string(got) != "leaf\n" {
		t.Errorf("RETR after a crash = %q", got)
	}
}

func TestOverIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		testutil.Skip(t, "no IPv6 loopback: "+err.Error())
	}
	ln.Close()
	_, addr := start(t, openView(t), Options{}, "::1")
	c := dial(t, addr)
	c.login()
	if got := c.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("EPSV RETR over IPv6 = %q", got)
	}
	c.expect(425, "PASV")
	c.expect(522, "EPSV 1")
	c.expect(504, "EPRT |1|127.0.0.1|5000|")
	own, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	c.expect(200, fmt.Sprintf("EPRT |2|::1|%d|", own.Addr().(*net.TCPAddr).Port))
	c.expect(150, "NLST sub")
	dc, err := own.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dc)
	dc.Close()
	c.expect(226, "")
	if string(got) != "sub/deeper\r\n" {
		t.Errorf("NLST over EPRT = %q", got)
	}
	dataAddr := c.epsv()
	c.expect(229, "EPSV 2")
	if _, err := net.DialTimeout("tcp", dataAddr, 300*time.Millisecond); err == nil {
		t.Error("a replaced passive port still accepts")
	}
	c.expect(200, "EPSV ALL")
	c.expect(503, "EPRT |2|::1|5000|")
	c.expect(226, "ABOR")
}

func TestPassivePortClosedWhenUsedOrUnused(t *testing.T) {
	srv, err := New(openView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.pasvWait = time.Second
	addr := testutil.Serve(t, srv, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	// Used: the port closes after its one transfer.
	dataAddr := c.epsv()
	dc := dialData(t, dataAddr)
	c.expect(150, "RETR hello.txt")
	_, _ = io.ReadAll(dc)
	dc.Close()
	c.expect(226, "")
	if conn, err := net.DialTimeout("tcp", dataAddr, time.Second); err == nil {
		conn.Close()
		t.Error("a used passive port still accepts")
	}
	// Unused: the port closes when the client does not come.
	dataAddr = c.epsv()
	time.Sleep(1500 * time.Millisecond)
	if conn, err := net.DialTimeout("tcp", dataAddr, time.Second); err == nil {
		conn.Close()
		t.Error("an unused passive port still accepts after its time-out")
	}
	c.expect(425, "RETR hello.txt")
}

func TestStalledDataConnectionDropped(t *testing.T) {
	srv, err := New(openView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.stall = 500 * time.Millisecond
	addr := testutil.Serve(t, srv, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin") // never read: the send stalls
	c.expect(426, "")
	c.expect(200, "NOOP")
}

func TestTransferLongerThanIdleTimeout(t *testing.T) {
	_, addr := start(t, openView(t), Options{IdleTimeout: time.Second}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin")
	var total int64
	buf := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(dc, buf)
		total += int64(n)
		if err != nil {
			break
		}
		time.Sleep(40 * time.Millisecond) // about 2.6 s in all, over twice the idle time
	}
	c.expect(226, "") // the control connection was not idle: a transfer ran
	if total != 64<<20 {
		t.Errorf("got %d bytes, want %d", total, 64<<20)
	}
	c.expect(200, "NOOP")
}

func TestLoginTimeLimit(t *testing.T) {
	const limit = time.Second
	_, addr := start(t, openView(t), Options{LoginTimeout: limit, IdleTimeout: 10 * time.Second, MaxConnsPerIP: 4}, "127.0.0.1")
	in := dial(t, addr)
	in.login()
	dialed := time.Now()
	lurker := dial(t, addr)   // NOOPs before login kept it in for ever
	silent := dial(t, addr)   // says nothing
	dribbler := dial(t, addr) // never finishes its first line
	refused := func() bool {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		line := make([]byte, 3)
		_, _ = io.ReadFull(conn, line)
		return string(line) == "421"
	}
	if !refused() {
		t.Fatal("a fifth connection from the address was admitted; the cap is 4")
	}
	gotOut := false
	for range 50 { // 5 s in all
		time.Sleep(100 * time.Millisecond)
		_, _ = dribbler.conn.Write([]byte("N"))
		code, msg := lurker.send("NOOP")
		if code == 421 {
			if !strings.Contains(msg, "Not logged in within") {
				t.Errorf("login time-out reply %q", msg)
			}
			if elapsed := time.Since(dialed); elapsed < limit {
				t.Errorf("dropped after %s, before the %s limit", elapsed, limit)
			}
			gotOut = true
			break
		}
		if code != 200 {
			t.Fatalf("NOOP before login: %d %q", code, msg)
		}
	}
	if !gotOut {
		t.Fatal("a client that never logs in but sends NOOP stays connected")
	}
	for name, c := range map[string]*client{"lurker": lurker, "silent": silent, "dribbler": dribbler} {
		_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if name != "lurker" {
			if code, msg := c.read(); code != 421 {
				t.Errorf("%s: got %d %q, want 421", name, code, msg)
			}
		}
		if _, err := c.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("%s: connection still open after the login time-out: %v", name, err)
		}
	}
	in.expect(200, "NOOP") // logged in: the limit does not apply
	// The places are free again.
	deadline := time.Now().Add(3 * time.Second)
	for refused() {
		if time.Now().After(deadline) {
			t.Fatal("places held by clients that never logged in were not given back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	dial(t, addr).login()
}

// TestPerClientCapIPv6 checks the caps the FTP server takes from
// connlimit: each IPv6 address is one client, and its /64 together gets
// connlimit.NetworkFactor clients' worth.
func TestPerClientCapIPv6(t *testing.T) {
	srv, err := New(openView(t), Options{MaxConnsPerIP: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	conn := func(ip string) *ctrlConn { return &ctrlConn{peer: netip.MustParseAddr(ip)} }
	var first *ctrlConn
	for i := range connlimit.NetworkFactor * 2 {
		c := conn(fmt.Sprintf("2001:db8:1:2::%x", i/2+1))
		if why := srv.admit(c); why != "" {
			t.Fatalf("admit %s: %s", c.peer, why)
		}
		first = cmp.Or(first, c)
	}
	if why := srv.admit(conn("2001:db8:1:2::1")); !strings.Contains(why, "from your address (2)") {
		t.Errorf("a third connection of one address: %q; want refused", why)
	}
	if why := srv.admit(conn("2001:db8:1:2:abcd::77")); !strings.Contains(why, "/64") {
		t.Errorf("a new address of a full /64 was admitted (%q); want refused", why)
	}
	for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.1", "192.0.2.2"} {
		if why := srv.admit(conn(ip)); why != "" {
			t.Errorf("admit %s: %s", ip, why)
		}
	}
	srv.forget(first)
	if why := srv.admit(conn("2001:db8:1:2::5")); why != "" {
		t.Errorf("a place freed in the /64 was not given back: %s", why)
	}
}

// dialClientFrom opens a control connection from a chosen loopback
// address, or skips the test when that address cannot be used.
func dialClientFrom(t *testing.T, from, addr string) *client {
	t.Helper()
	conn, err := dialFrom(t, from, addr)
	if err != nil {
		testutil.Skip(t, "cannot dial from "+from+": "+err.Error())
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { c.tp.Close() })
	c.expect(220, "")
	return c
}

func TestPassiveQuotaPerAddress(t *testing.T) {
	low, high := freePortRange(t, 5) // a quota of 2 per address
	srv, addr := start(t, openView(t), Options{PassiveLow: low, PassiveHigh: high}, "127.0.0.1")
	var greedy []*client
	var waiting []int // sessions whose EPSV got a port
	for i := range 5 {
		c := dial(t, addr)
		c.login()
		greedy = append(greedy, c)
		switch code, msg := c.send("EPSV"); code {
		case 229:
			waiting = append(waiting, i)
		case 425:
			if !strings.Contains(msg, "your address (at most 2)") {
				t.Errorf("refused EPSV message %q", msg)
			}
		default:
			t.Fatalf("EPSV %d: %d %q", i, code, msg)
		}
	}
	if len(waiting) != 2 {
		t.Fatalf("one address holds %d waiting passive ports of 5; want 2", len(waiting))
	}
	// EPSV again in a session that holds a port replaces it: no new place.
	greedy[waiting[1]].expect(229, "EPSV")
	// Another address still gets a port and its file.
	victim := dialClientFrom(t, "127.0.0.2", addr)
	victim.login()
	dc, err := dialFrom(t, "127.0.0.2", victim.epsv())
	if err != nil {
		t.Fatal(err)
	}
	_ = dc.SetDeadline(time.Now().Add(10 * time.Second))
	victim.expect(150, "RETR hello.txt")
	got, _ := io.ReadAll(dc)
	dc.Close()
	victim.expect(226, "")
	if string(got) != "hello, world\n" {
		t.Errorf("victim RETR = %q", got)
	}
	// A used port gives its place back.
	if got := greedy[waiting[0]].get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR = %q", got)
	}
	greedy[4].expect(229, "EPSV")
	greedy[3].expect(425, "EPSV")
	// So does ABOR and the end of a session.
	greedy[waiting[1]].expect(226, "ABOR")
	greedy[3].expect(229, "EPSV")
	for _, c := range greedy {
		c.expect(221, "QUIT")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		srv.mu.Lock()
		n := len(srv.pasvOpen)
		srv.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("passive places still counted after every session quit: %v", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPassiveQuotaKernelPorts(t *testing.T) {
	srv, err := New(openView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.pasvWait = 1500 * time.Millisecond
	addr := testutil.Serve(t, srv, "127.0.0.1")
	for i := range defaultPassiveQuota {
		c := dial(t, addr)
		c.login()
		if i%2 == 0 {
			c.pasv()
		} else {
			c.epsv()
		}
	}
	last := dial(t, addr)
	last.login()
	if msg := last.expect(425, "EPSV"); !strings.Contains(msg, "at most 4") {
		t.Errorf("refused EPSV message %q", msg)
	}
	last.expect(425, "PASV")
	// Ports nobody connects to close after their wait and free the quota.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, msg := last.send("EPSV")
		if code == 229 {
			break
		}
		if code != 425 || time.Now().After(deadline) {
			t.Fatalf("EPSV after the others' ports timed out: %d %q", code, msg)
		}
	}
	if got := last.get("RETR hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("RETR after the others' ports timed out = %q", got)
	}
}
