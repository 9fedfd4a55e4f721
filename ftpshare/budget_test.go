package ftpshare

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// The tests of this file play a hostile client against the budget of one
// command: globs (finding 1 of issue 9), commands sent during a transfer
// (finding 2) and listings nobody reads (finding 3). Their CPU and memory
// bounds are budgets with wide margins, not speed targets.

// manyFiles is how many files the folder "many" of manyRoot holds; their
// names are long (about 170 bytes), so that listings are megabytes.
const manyFiles = 20_000

var (
	manyOnce sync.Once
	manyRoot string
	manyErr  error
)

// manyView serves a folder with the subfolder "many" of manyFiles empty
// files, made once per test binary and removed by TestMain.
func manyView(t testing.TB) *sharefs.Dir {
	t.Helper()
	manyOnce.Do(func() {
		manyRoot, manyErr = os.MkdirTemp("", "ftpshare-many-")
		if manyErr == nil {
			manyErr = makeMany(filepath.Join(manyRoot, "many"))
		}
	})
	if manyErr != nil {
		t.Fatal(manyErr)
	}
	v, err := sharefs.New(manyRoot, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func makeMany(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range manyFiles {
		if err := os.WriteFile(filepath.Join(dir, manyName(i)), nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manyName is the name of file i of "many".
func manyName(i int) string { return fmt.Sprintf("f-%05d-%s.txt", i, strings.Repeat("n", 160)) }

// removeMany removes the folder of manyView, if one was made.
func removeMany() {
	if manyRoot != "" {
		os.RemoveAll(manyRoot)
	}
}

// dialSmallWindow connects with a receive buffer of a few KiB, as a
// client that wants the server to hold what it does not read would.
func dialSmallWindow(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := testutil.SmallWindow("").Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// smallWindowClient is a logged-in client on dialSmallWindow.
func smallWindowClient(t testing.TB, addr string) *client {
	t.Helper()
	conn := dialSmallWindow(t, addr)
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	c.expect(220, "")
	c.login()
	return c
}

// listSpy counts the listings a view makes.
type listSpy struct {
	sharefs.View
	lists atomic.Int64
}

func (v *listSpy) List(name string) ([]sharefs.Entry, error) {
	v.lists.Add(1)
	return v.View.List(name)
}

func TestGlobsBoundedInCost(t *testing.T) {
	_, addr := start(t, manyView(t), Options{}, "127.0.0.1")
	c := dial(t, addr)
	// Each listing of the 20,000 names takes seconds under -race.
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	c.login()
	huge := "many/*[" + strings.Repeat("a-a", 2600) + "]" // the 8 KB class of the finding
	before := testutil.CPUTime(t)
	for _, cmd := range []string{"STAT", "LIST", "NLST", "MLSD"} {
		if cmd != "STAT" {
			c.epsv()
		}
		if msg := c.expect(501, cmd+" "+huge); !strings.Contains(msg, "class") {
			t.Errorf("%s with an 8 KB class: %q does not say why", cmd, msg)
		}
	}
	c.expect(501, "STAT many/*a*b*c*d*e")
	c.expect(501, "STAT many/"+strings.Repeat("x?", 130))
	// Within the limits but costly over long names: stopped at the budget.
	costly := "many/*" + strings.Repeat("?", 250)
	for range 3 {
		if msg := c.expect(550, "STAT "+costly); !strings.Contains(msg, "costly") {
			t.Errorf("costly pattern: %q", msg)
		}
	}
	used := testutil.CPUTime(t) - before
	// Ten commands; each may take well under a second of CPU.
	if used > 10*time.Second/2 {
		t.Errorf("ten refused patterns took %s of CPU", used)
	}
	t.Logf("CPU for 10 refused patterns over %d names: %s", manyFiles, used)

	// An honest pattern over the same names still works.
	got := lines(t, c.get("NLST many/f-*7-n*.txt"))
	if len(got) != manyFiles/10 || !strings.HasPrefix(got[0], "many/f-") {
		t.Errorf("NLST of a tenth of the names: %d lines, first %q", len(got), got[0])
	}
	c.expect(550, "STAT many/*.nothing")
	c.expect(550, "STAT many/[") // malformed: no such file, as before
}

func TestQueuedLinesDroppedWhenClientLeaves(t *testing.T) {
	spy := &listSpy{View: manyView(t)}
	srv, addr := start(t, spy, Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	const queued = 50
	if _, err := io.WriteString(c.conn, strings.Repeat("STAT many/f-*1-n*\r\n", queued)); err != nil {
		t.Fatal(err)
	}
	c.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.snapshot()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(srv.snapshot()); n != 0 {
		t.Fatalf("%d sessions left after the client hung up", n)
	}
	// The first line runs; its reply meets the reset; the rest are dropped.
	if n := spy.lists.Load(); n > 3 {
		t.Errorf("%d of %d queued listings ran for a client that had left", n, queued)
	}
}

func TestFloodDuringTransferBounded(t *testing.T) {
	srv, addr := start(t, openView(t), Options{}, "127.0.0.1")
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin") // never read: the transfer stays running
	heapBefore, cpuBefore := testutil.HeapInUse(), testutil.CPUTime(t)
	flood := []byte(strings.Repeat("NOOP\r\n", 1000))
	_ = c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	var sent int
	for sent < 256<<20 { // the write deadline ends it long before
		n, err := c.conn.Write(flood)
		sent += n
		if err != nil {
			break
		}
	}
	used := testutil.CPUTime(t) - cpuBefore
	held := testutil.HeapInUse() - heapBefore
	sess := srv.snapshot()
	if len(sess) != 1 {
		t.Fatalf("%d sessions, want 1", len(sess))
	}
	sess[0].mu.Lock()
	buffered := len(sess[0].lines.buf)
	sess[0].mu.Unlock()
	t.Logf("flood: %d bytes sent in 2 s; server buffered %d, CPU %s, heap %+d KiB", sent, buffered, used, held>>10)
	if buffered > maxBuffered {
		t.Errorf("the server buffered %d bytes of commands, over %d", buffered, maxBuffered)
	}
	if used > time.Second {
		t.Errorf("2 s of NOOP lines during a transfer took %s of CPU", used)
	}
	if held > 8<<20 {
		t.Errorf("the heap grew by %d KiB during the flood", held>>10)
	}
	// Another client is answered meanwhile.
	other := dial(t, addr)
	other.login()
	other.expect(200, "NOOP")
}

func TestAbortSeenAfterOtherLines(t *testing.T) {
	addr := startFixture(t)
	c := dial(t, addr)
	c.login()
	dc := dialData(t, c.epsv())
	defer dc.Close()
	c.expect(150, "RETR huge.bin")
	if _, err := io.WriteString(c.conn, strings.Repeat("NOOP\r\n", 100)+"ABOR\r\n"); err != nil {
		t.Fatal(err)
	}
	c.expect(426, "")
	for range 100 {
		c.expect(200, "")
	}
	c.expect(226, "")
}

// sharedView lists "many" from one slice made once, as a listing cache
// shared by all sessions would.
type sharedView struct {
	sharefs.View
	once    sync.Once
	entries []sharefs.Entry
}

func (v *sharedView) List(name string) ([]sharefs.Entry, error) {
	if strings.Trim(name, "/") != "many" {
		return v.View.List(name)
	}
	var err error
	v.once.Do(func() { v.entries, err = v.View.List(name) })
	return v.entries, err
}

func TestUnreadListingsHoldNoCopy(t *testing.T) {
	view := &sharedView{View: manyView(t)}
	if _, err := view.List("many"); err != nil {
		t.Fatal(err)
	}
	_, addr := start(t, view, Options{}, "127.0.0.1")
	const each = 9 // LIST and STAT sessions: 18 of the 20 one address may have
	before := testutil.HeapInUse()
	for i := range 2 * each {
		c := smallWindowClient(t, addr)
		if i < each {
			dialSmallWindow(t, c.epsv())
			c.expect(150, "LIST many") // the data connection is never read
			continue
		}
		if err := c.tp.PrintfLine("STAT many"); err != nil { // the reply is never read
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // the STAT replies fill the socket buffers
	held := testutil.HeapInUse() - before
	// A rendered copy of one listing is about 4 MiB; each session may hold
	// its buffer and little else.
	t.Logf("%d sessions with unread listings of %d entries: heap %+d KiB", 2*each, manyFiles, held>>10)
	if held > 2*each*(256<<10)+(4<<20) {
		t.Errorf("%d sessions with unread listings hold %d KiB", 2*each, held>>10)
	}
}

func TestUnreadListingsDropped(t *testing.T) {
	srv, err := New(manyView(t), Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.stall = time.Second
	srv.replyWait = time.Second
	addr := testutil.Serve(t, srv, "127.0.0.1")
	lister := smallWindowClient(t, addr)
	dialSmallWindow(t, lister.epsv())
	lister.expect(150, "LIST many")
	lister.expect(426, "") // dropped after the stall time
	lister.expect(200, "NOOP")

	stat := smallWindowClient(t, addr)
	if err := stat.tp.PrintfLine("STAT many"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(srv.snapshot()) > 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(srv.snapshot()); n != 1 {
		t.Errorf("%d sessions; the one that never read its STAT reply was not dropped", n)
	}
	// What reached the client ends in the middle of the reply.
	_ = stat.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, stat.conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reading the cut reply: %v", err)
	}
}

// slotsTaken starts a server for view whose listing slots are all taken
// until the test ends.
func slotsTaken(t *testing.T, view sharefs.View, wait time.Duration) (*Server, string) {
	srv, err := New(view, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv.listWait = wait
	for range cap(srv.listSlots) {
		srv.listSlots <- struct{}{}
	}
	return srv, testutil.Serve(t, srv, "127.0.0.1")
}

func TestListingBusy(t *testing.T) {
	spy := &listSpy{View: manyView(t)}
	srv, addr := slotsTaken(t, spy, 300*time.Millisecond)
	c := dial(t, addr)
	c.login()
	c.expect(450, "STAT many")
	for range cap(srv.listSlots) {
		<-srv.listSlots
	}
	c.expect(213, "STAT many")
	if n := spy.lists.Load(); n != 1 {
		t.Errorf("%d listings made, want 1", n)
	}
}

func TestListingWaitEndsWhenClientLeaves(t *testing.T) {
	spy := &listSpy{View: manyView(t)}
	srv, addr := slotsTaken(t, spy, time.Minute)
	gone := dial(t, addr)
	gone.login()
	if err := gone.tp.PrintfLine("STAT many"); err != nil {
		t.Fatal(err)
	}
	gone.conn.Close()
	// The session ends while every slot is still taken, freeing its place.
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.snapshot()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(srv.snapshot()); n != 0 {
		t.Errorf("%d sessions; the one that left while it waited is still there", n)
	}
	for range cap(srv.listSlots) {
		<-srv.listSlots
	}
	if n := spy.lists.Load(); n != 0 {
		t.Errorf("%d listings made for a client that left while it waited", n)
	}
}

// blockingView holds every listing until release is closed.
type blockingView struct {
	sharefs.View
	inside  atomic.Int64 // listings being made
	root    atomic.Bool  // the root folder is being listed
	release chan struct{}
}

func (v *blockingView) List(name string) ([]sharefs.Entry, error) {
	v.inside.Add(1)
	defer v.inside.Add(-1)
	if strings.Trim(name, "/") == "" {
		v.root.Store(true)
	}
	<-v.release
	return v.View.List(name)
}

func TestListingTurnsPerAddress(t *testing.T) {
	view := &blockingView{View: manyView(t), release: make(chan struct{})}
	srv, addr := start(t, view, Options{}, "127.0.0.1")
	if n := cap(srv.listSlots); n < 2 {
		t.Fatalf("%d listing slots", n)
	}
	// All slots but one are busy elsewhere.
	for range cap(srv.listSlots) - 2 {
		srv.listSlots <- struct{}{}
	}
	a1, a2 := dial(t, addr), dial(t, addr)
	b := dialClientFrom(t, "127.0.0.2", addr)
	for _, c := range []*client{a1, a2, b} {
		c.login()
		folder := "many"
		if c == b {
			folder = "/"
		}
		if err := c.tp.PrintfLine("STAT %s", folder); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // in this order
	}
	// a1 and b are being listed; a2 waits behind a1, not in front of b.
	deadline := time.Now().Add(5 * time.Second)
	for view.inside.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := view.inside.Load(); n != 2 || !view.root.Load() {
		t.Errorf("%d listings being made (the other address's: %v), want 2, one per address", n, view.root.Load())
	}
	close(view.release)
	for _, c := range []*client{a1, a2, b} {
		c.expect(213, "")
	}
}

// copyView gives each listing a slice of its own, as a view without a
// listing cache does: each counts under the bounds on held listings.
type copyView struct{ sharefs.View }

func (v copyView) List(name string) ([]sharefs.Entry, error) {
	entries, err := v.View.List(name)
	return slices.Clone(entries), err
}

func TestListingMemoryBounded(t *testing.T) {
	srv, err := New(copyView{manyView(t)}, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	size := float64(manyFiles * (entrySize + int64(len(manyName(0))))) // one listing of many
	srv.listMemPerAddr = 1 << 20                                       // one listing per address
	srv.listMem = int64(1.5 * size)                                    // one listing in all
	addr := testutil.Serve(t, srv, "127.0.0.1")
	a1, a2 := smallWindowClient(t, addr), smallWindowClient(t, addr)
	b := dialClientFrom(t, "127.0.0.2", addr)
	b.login()
	data := dialSmallWindow(t, a1.epsv())
	a1.expect(150, "LIST many") // never read: held
	a2.epsv()
	if msg := a2.expect(450, "LIST many"); !strings.Contains(msg, "large listings") {
		t.Errorf("second listing of one address: %q", msg)
	}
	b.expect(450, "STAT many")
	b.expect(211, "STAT") // what needs no listing still works
	data.Close()
	a1.expect(426, "")
	// The listing's memory is given back as its transfer ends, which may
	// come just after the 426 went out: wait for it (bounded).
	for deadline := time.Now().Add(5 * time.Second); srv.listingBytes() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still counted after every listing ended", srv.listingBytes())
		}
	}
	b.expect(213, "STAT many") // the memory is free again
}
