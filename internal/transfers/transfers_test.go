package transfers

import (
	"net/netip"
	"sync"
	"testing"
)

func TestBoardCountsAndForgets(t *testing.T) {
	var none *Board
	tr := none.Start("http", netip.MustParseAddr("192.0.2.1"), "/a", 10)
	tr.Add(5) // a nil board and transfer cost nothing and do nothing
	tr.Done(true)

	b := New()
	ada, bob := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.2")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			client := ada
			if i%2 == 1 {
				client = bob
			}
			t := b.Start("ftp", client, "/f", 1000)
			for range 10 {
				t.Add(100)
			}
			t.Done(i != 7) // the last one is cut
		})
	}
	wg.Wait()
	if n := len(b.Active()); n != 0 {
		t.Errorf("%d transfers still active", n)
	}
	if got, want := b.Totals(), (Totals{Files: 7, Cut: 1, Bytes: 8000, Clients: 2}); got != want {
		t.Errorf("totals %+v, want %+v", got, want)
	}
}
