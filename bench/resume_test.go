package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"example.com/share/internal/testutil"
)

// Sizes of the encrypted range benchmark.
const (
	rangeFile   = 1 << 30   // a sparse file
	rangeOffset = 900 << 20 // where the range starts
	rangeLen    = 64 << 10
)

// BenchmarkEncryptedRange measures share --recipient answering a range at
// 900 MiB of the message of a 1 GiB file: the time to the first byte of
// the body the first time (nothing of this version encrypted yet: the
// file's time is moved before each round, making a new version), then
// after one whole download (the checkpoints of that download in place),
// against the time of a whole download:
//
//	go test -run '^$' -bench '^BenchmarkEncryptedRange$' -benchtime 3x ./bench
//
// The file is sparse on disk, so that the encryption is measured rather
// than the disk.
func BenchmarkEncryptedRange(b *testing.B) {
	gpg := testutil.NeedTool(b, "gpg")
	testutil.NeedTool(b, "gpgconf")
	testutil.NeedTool(b, "go")
	tmp, err := os.MkdirTemp("", "share-bench-range-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(tmp) })
	keyFile, _ := encMakeKey(b, gpg, tmp)
	dir := filepath.Join(tmp, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	plain := filepath.Join(dir, "large.img")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(plain, rangeFile); err != nil {
		b.Fatal(err)
	}
	base, _ := encStartShare(b, testutil.BuildShare(b), keyFile, dir, tmp)
	url := base + "/large.img.gpg"
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	newVersion := func(i int) {
		t := time.Now().Add(-time.Duration(i+1) * time.Hour)
		if err := os.Chtimes(plain, t, t); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("first-time", func(b *testing.B) {
		for i := range b.N {
			b.StopTimer()
			newVersion(i)
			b.StartTimer()
			rangeFirstByte(b, c, url)
		}
	})
	b.Run("after-whole", func(b *testing.B) {
		newVersion(b.N + 100)
		wholeDownload(b, c, url)
		b.ResetTimer()
		for range b.N {
			rangeFirstByte(b, c, url)
		}
	})
	b.Run("whole", func(b *testing.B) {
		for range b.N {
			wholeDownload(b, c, url)
		}
	})
}

// rangeFirstByte asks for the range and returns once its first byte has
// come; the rest is read after.
func rangeFirstByte(b *testing.B, c *http.Client, url string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rangeOffset, rangeOffset+rangeLen-1))
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil || resp.StatusCode != http.StatusPartialContent {
		b.Fatalf("range: %d, %v", resp.StatusCode, err)
	}
	b.StopTimer()
	io.Copy(io.Discard, resp.Body)
	b.StartTimer()
}

func wholeDownload(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != resp.ContentLength {
		b.Fatalf("whole download: %d of %d bytes, %v", n, resp.ContentLength, err)
	}
}
