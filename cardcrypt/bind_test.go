package cardcrypt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// openBound opens name of v, binds it to ctx with a started hook that
// counts its calls, and seeks to off.
func openBound(t *testing.T, v sharefs.View, name string, ctx context.Context, off int64, calls *int) sharefs.File {
	t.Helper()
	f, err := v.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	b, ok := f.(Binder)
	if !ok {
		t.Fatalf("%T does not bind", f)
	}
	b.Bind(ctx, netip.Addr{}, func() { *calls++ })
	if _, err := f.(io.Seeker).Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

// sparseView is an encrypting view of a folder of 64 GiB sparse files
// named names, with its Encryptor and the plain view under it.
func sparseView(t *testing.T, names ...string) (*Encryptor, *sharefs.Dir, sharefs.View) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		testutil.SparseFile(t, filepath.Join(dir, name), 64<<30)
	}
	inner, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	e, err := NewEncryptor([]*Key{testKey(t, false)}, false)
	if err != nil {
		t.Fatal(err)
	}
	e.UseSecret(bytes.Repeat([]byte{5}, secretSize))
	return e, inner, e.View(inner)
}

// TestCatchUpStopsWithContext: a read far into a big file never read
// before (minutes of encryption) calls the started hook first and stops
// soon after the bound context ends, giving back the file's turn and its
// place; a file can still be read there afterwards.
func TestCatchUpStopsWithContext(t *testing.T) {
	e, inner, v := sparseView(t, "big")

	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	f := openBound(t, v, "big.gpg", ctx, 60<<30, &calls)
	done := make(chan error, 1)
	go func() {
		_, err := f.Read(make([]byte, 4096))
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // well into the catch-up
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, errGone) || !errors.Is(err, context.Canceled) {
			t.Errorf("read after the context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the catch-up went on 10 s after its context ended")
	}
	if calls != 1 {
		t.Errorf("started hook called %d times, want once", calls)
	}
	if n := len(e.marks.longCatchUp); n != 0 {
		t.Errorf("%d places for long catch-ups still taken", n)
	}
	id, _ := e.fileID("big", mustStat(t, inner, "big"))
	if n := len(e.marks.file(id).catchUp); n != 0 {
		t.Error("the file's turn was not given back")
	}
}

// TestBoundReadsMatch: a bound stream whose context has ended fails its
// long catch-up at once; bound again to a live context it reads the
// same bytes as the whole message and leaves checkpoints behind, and a
// short seek calls no hook.
func TestBoundReadsMatch(t *testing.T) {
	old := minMarkEvery
	t.Cleanup(func() { minMarkEvery = old })
	minMarkEvery = markAlignment
	key := testKey(t, false)
	secret := bytes.Repeat([]byte{6}, secretSize)
	fx := newSeekFixture(t, []*Key{key}, false, 1<<20, secret)
	cold := newSeekFixture(t, []*Key{key}, false, 0, secret) // an Encryptor without checkpoints
	inner, err := sharefs.New(fx.dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	v := cold.e.View(inner)
	name := "f" + cold.e.Suffix()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var calls int
	off := int64(len(fx.whole) - 1000)
	f := openBound(t, v, name, ended, off, &calls)
	if _, err := f.Read(make([]byte, 100)); !errors.Is(err, errGone) {
		t.Fatalf("read of a stream whose context ended: %v", err)
	}
	f.(Binder).Bind(context.Background(), netip.Addr{}, func() { calls++ })
	if _, err := f.(io.Seeker).Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, fx.whole[off:]) {
		t.Fatalf("read again after a stopped catch-up: %v, %d bytes differ from the whole message", err, len(got))
	}
	if calls != 2 {
		t.Errorf("started hook called %d times for two long catch-ups", calls)
	}
	// The catch-up left its checkpoints: the part it encrypted costs no more.
	id, _ := cold.e.fileID("f", mustStat(t, inner, "f"))
	if n, want := len(cold.e.marks.file(id).marks), int(off/minMarkEvery)-1; n < want {
		t.Errorf("a catch-up to %d left %d checkpoints, want %d", off, n, want)
	}
	near := openBound(t, v, name, context.Background(), 10, &calls)
	if got, err := io.ReadAll(io.LimitReader(near, 100)); err != nil || !bytes.Equal(got, fx.whole[10:110]) {
		t.Fatalf("short seek: %v", err)
	}
	if calls != 2 {
		t.Errorf("a short seek called the started hook")
	}
}

func mustStat(t *testing.T, v sharefs.View, name string) sharefs.Entry {
	t.Helper()
	e, err := v.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestShortCatchUpInBigFileAnnounces: in a file of over maxMarks
// intervals of minMarkEvery (here 80 MiB, checkpoints every 128 KiB with
// the minimum at 64 KiB), a seek between two checkpoints is no long
// catch-up, yet more than minMarkEvery of work: the started hook runs
// first, and the bytes are the whole message's.
func TestShortCatchUpInBigFileAnnounces(t *testing.T) {
	old := minMarkEvery
	t.Cleanup(func() { minMarkEvery = old })
	minMarkEvery = markAlignment
	fx := newSeekFixture(t, []*Key{testKey(t, false)}, false, 80<<20, bytes.Repeat([]byte{8}, secretSize))
	every := markEvery(80 << 20)
	if every <= minMarkEvery {
		t.Fatalf("checkpoints every %d bytes: the file is too small for the test", every)
	}
	off := 5*every + every*7/8 // well past a checkpoint, short of the next
	var calls int
	f := openBound(t, fx.v, "f"+fx.e.Suffix(), context.Background(), off, &calls)
	got, err := io.ReadAll(io.LimitReader(f, 100))
	if err != nil || !bytes.Equal(got, fx.whole[off:off+100]) {
		t.Fatalf("read between checkpoints: %v, bytes differ from the whole message", err)
	}
	if calls != 1 {
		t.Errorf("started hook called %d times before a catch-up of %d bytes", calls, every*7/8)
	}
	if n := len(fx.e.marks.longCatchUp); n != 0 {
		t.Errorf("%d places for long catch-ups taken", n)
	}
}

// TestOneLongCatchUpPerClient: a client's second long catch-up waits
// for its first, so it cannot take both places; another client's starts
// at once. Every turn and place is given back when the contexts end.
func TestOneLongCatchUpPerClient(t *testing.T) {
	e, _, v := sparseView(t, "a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	one, two := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	done := make(chan error, 3)
	start := func(name string, client netip.Addr) {
		f, err := v.Open(name + e.Suffix())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		f.(Binder).Bind(ctx, client, nil)
		if _, err := f.(io.Seeker).Seek(60<<30, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := f.Read(make([]byte, 4096))
			done <- err
		}()
	}
	placesTaken := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(e.marks.longCatchUp) != want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := len(e.marks.longCatchUp); n != want {
			t.Fatalf("%d places for long catch-ups taken, want %d", n, want)
		}
	}
	start("a", one)
	placesTaken(1)
	start("b", one)
	deadline := time.Now().Add(5 * time.Second)
	for e.marks.clients.users(one) != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.marks.clients.users(one); n != 2 {
		t.Fatalf("%d catch-ups of the client hold or wait for its turn, want 2", n)
	}
	placesTaken(1) // the client's second catch-up waits for its first
	start("c", two)
	placesTaken(2)
	cancel()
	for range 3 {
		select {
		case err := <-done:
			if !errors.Is(err, errGone) {
				t.Errorf("read after the context ended: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a catch-up went on 10 s after its context ended")
		}
	}
	if n, c := len(e.marks.longCatchUp), e.marks.clients.waiting(); n != 0 || c != 0 {
		t.Errorf("after all ended: %d places taken, %d clients with turns", n, c)
	}
}

// waiting is how many clients hold or wait for a turn.
func (t *turns) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// users is how many streams of client hold or wait for its turn.
func (t *turns) users(client netip.Addr) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tu := t.m[client]; tu != nil {
		return tu.users
	}
	return 0
}
