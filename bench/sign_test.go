//go:build linux && cgo

package bench

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"example.com/share/internal/cardtest"
	"example.com/share/internal/testutil"
)

// BenchmarkSign measures share --sign with the virtual card behind pcscd
// and vpcd (RSA 2048 keys GnuPG made on the card). "card" is signatures/s
// when every request needs the card (the file's modification time changes
// before each request, so no signature is cached), one client, one
// request at a time; "cached-sig" is requests/s for FILE?sig once signed,
// from conns clients; "small-file" is the same for the 4 KiB FILE itself:
//
//	go test -run '^$' -bench '^BenchmarkSign$' ./bench
func BenchmarkSign(b *testing.B) {
	cardtest.StartWithKeys(b, cardtest.RSA, "bench@example.org")
	tmp := b.TempDir()
	dir := filepath.Join(tmp, "data")
	os.Mkdir(dir, 0o755)
	file := filepath.Join(dir, "4k.bin")
	data := make([]byte, 4096)
	rand.Read(data)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	pin := filepath.Join(tmp, "pin")
	os.WriteFile(pin, []byte(cardtest.UserPIN+"\n"), 0o600)
	base, _ := benchShare(b, testutil.BuildShare(b), filepath.Join(tmp, "share-sign.log"), "--sign", "--pin-file", pin, dir)

	b.Run("card", func(b *testing.B) {
		c := client()
		defer c.CloseIdleConnections()
		stamp := time.Now()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			t := stamp.Add(time.Duration(i+1) * time.Second)
			os.Chtimes(file, t, t) // a new version: the card must sign
			b.StartTimer()
			if _, err := get(c, base+"/4k.bin?sig"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
	})
	// Settled again (an hour old), as a file that is not being written.
	past := time.Now().Add(-time.Hour)
	os.Chtimes(file, past, past)
	b.Run("cached-sig", func(b *testing.B) { requestRate(b, base+"/4k.bin?sig") })
	b.Run("small-file", func(b *testing.B) { requestRate(b, base+"/4k.bin") })
}
