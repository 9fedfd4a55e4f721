package ftpshare

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"example.com/share/cardcrypt"
	"example.com/share/internal/cardtest"
	"example.com/share/internal/netutil"
	"example.com/share/internal/testutil"
	"example.com/share/sharefs"
)

// TestStalledEncryptedRetrPinsLittle: encrypted RETRs whose clients stop
// reading the data connection, from the start (the pipeline) and after
// REST (a catch-up first), hold little heap each while they stall: no
// chunk of the encryption.
func TestStalledEncryptedRetrPinsLittle(t *testing.T) {
	if !netutil.CanTellRoom {
		t.Skip("the socket's room is known on Linux only")
	}
	const conns = 40 // 20 per client address
	dir := t.TempDir()
	testutil.SparseFile(t, filepath.Join(dir, "big.img"), 1<<30)
	g := cardtest.NewGnuPG(t, false)
	key, err := cardcrypt.LoadRecipientFile(g.GenerateSoftware("share@example.org", "ed25519", "cv25519"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cardcrypt.NewEncryptor([]*cardcrypt.Key{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sharefs.New(dir, sharefs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	_, addr := start(t, enc.View(plain), Options{}, "127.0.0.1")
	// Once first, so that what is made once is not counted.
	warm := dial(t, addr)
	warm.login()
	warm.expect(213, "SIZE big.img.gpg")
	per := testutil.HeapPer(conns, time.Second, func(i int) { // every socket fills and stalls
		from := fmt.Sprintf("127.0.14.%d", 1+i/20)
		c := dialClientFrom(t, from, addr)
		c.login()
		if i%2 == 1 {
			c.expect(350, fmt.Sprintf("REST %d", 300000+i))
		}
		dc, err := testutil.SmallWindow(from).Dial("tcp", c.epsv())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dc.Close() })
		c.expect(150, "RETR big.img.gpg") // never read: the send stalls
	})
	t.Logf("%d KiB of heap per stalled encrypted RETR", per>>10)
	if per > 48<<10 {
		t.Errorf("%d KiB of heap per stalled encrypted RETR; want at most 48 KiB", per>>10)
	}
}
