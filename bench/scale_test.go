package bench

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
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

// The scale benchmarks (issue 14) run the built share over big fixtures on
// tmpfs and read its memory (VmHWM, reset before each measure) and CPU
// time from /proc:
//
//	go test -run '^$' -bench '^BenchmarkScale' -benchtime 1x -timeout 30m ./bench
//
// BenchmarkScaleListing100k lists a folder of 100,000 empty files over
// HTTP (HTML and JSON) and FTP (LIST and MLSD), each first from a fresh
// share (cold) and then again (warm). BenchmarkScaleTree streams ?zip,
// ?tar.gz and ?sha256 of a tree of SCALE_TREE_FILES tiny files (default
// 200,000, in folders of 1,000). BenchmarkScaleDownloaders has 500 HTTP
// clients, and then 200 FTP clients (the FTP server's total cap), download
// one 64 MiB file at once, each over its own connection, from loopback
// addresses 127.0.40.1 and on so that the per-address caps (HTTP 64
// connections, FTP 20 sessions and 4 waiting passive ports) are not what
// is measured.

const (
	scaleListLen   = 100_000  // files of BenchmarkScaleListing100k's folder
	scaleTreeFiles = 200_000  // default of SCALE_TREE_FILES (see BenchmarkScaleTree)
	scaleTreeFan   = 1000     // files per folder of the tree
	scaleBigSize   = 64 << 20 // the file of BenchmarkScaleDownloaders
	scaleHTTPPeers = 500      // HTTP downloaders
	scaleFTPPeers  = 200      // FTP downloaders: ftpshare's default total cap
	scaleHTTPAddr  = 20       // HTTP downloaders per loopback address (the cap is 64)
	scaleFTPAddr   = 4        // FTP downloaders per address: its quota of waiting passive ports
	scaleRunLimit  = 100 * time.Second
)

// scaleShare is share serving HTTP and FTP on loopback as a process of its
// own.
type scaleShare struct {
	web, ftp string // base URL, FTP address
	pid      int
	stop     func()
}

// scaleFixture makes a tmpfs folder holding a 4 KiB 4k.bin (which launch
// waits for) and removes it when the benchmark ends.
func scaleFixture(b *testing.B) string {
	b.Helper()
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm" // tmpfs: the disk stays out of the measurement
	}
	dir, err := os.MkdirTemp(base, "share-scale-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "4k.bin"), make([]byte, 4<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// startScaleShare runs share over dir with HTTP and FTP on free loopback
// ports and waits until both answer.
func startScaleShare(b *testing.B, dir string) *scaleShare {
	b.Helper()
	bin := testutil.BuildShare(b)
	web, err1 := freePort()
	ftp, err2 := freePort()
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	webAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(web))
	ftpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ftp))
	logPath := filepath.Join(b.TempDir(), "share.log")
	logf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--http", webAddr, "--ftp", ftpAddr, "--quiet", filepath.Join(dir, "."))
	cmd.Stdout, cmd.Stderr = logf, logf
	s, err := launch("share", "http://"+webAddr, cmd, syscall.SIGTERM, logPath)
	if err != nil {
		b.Fatal(err)
	}
	// Also when the benchmark fails; a second stop does nothing.
	b.Cleanup(s.stop)
	http.DefaultClient.CloseIdleConnections() // launch's
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := budgetDial("127.0.0.1", ftpAddr, false); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			b.Fatalf("share does not answer FTP on %s", ftpAddr)
		}
	}
	return &scaleShare{web: s.base, ftp: ftpAddr, pid: cmd.Process.Pid, stop: s.stop}
}

// usage is what one measured request cost share.
type usage struct {
	ttfb, total time.Duration
	cpu         float64 // seconds
	rssBefore   int64   // KiB, VmRSS before
	peak        int64   // KiB, VmHWM during
}

// measure runs fn with share's peak RSS reset before and its CPU time
// read around it. fn returns the time of its first byte from the start.
func measure(pid int, fn func() (time.Duration, error)) (usage, error) {
	u := usage{rssBefore: vm(pid, "VmRSS")}
	resetPeak(pid)
	cpu0 := treeCPU(pid)
	start := time.Now()
	ttfb, err := fn()
	u.total, u.ttfb = time.Since(start), ttfb
	time.Sleep(20 * time.Millisecond) // the last tick of CPU time
	u.cpu = treeCPU(pid) - cpu0
	u.peak = vm(pid, "VmHWM")
	return u, err
}

// report puts u's figures under the prefix ("cold-", "warm-").
func (u usage) report(b *testing.B, prefix string) {
	b.ReportMetric(float64(u.ttfb.Microseconds())/1000, prefix+"ttfb-ms")
	b.ReportMetric(float64(u.total.Microseconds())/1000, prefix+"total-ms")
	b.ReportMetric(u.cpu, prefix+"CPU-s")
	b.ReportMetric(float64(u.peak)/1024, prefix+"peak-RSS-MiB")
	b.ReportMetric(float64(u.rssBefore)/1024, prefix+"RSS-before-MiB")
}

// reportLoad logs and reports the 1-minute load average: the machine is
// shared, and the figures mean little without it.
func reportLoad(b *testing.B) {
	load, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	b.Logf("load average: %s", strings.TrimSpace(string(load)))
	if f := strings.Fields(string(load)); len(f) > 0 {
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			b.ReportMetric(v, "loadavg-1m")
		}
	}
}

// firstByteReader records when its first byte arrived.
type firstByteReader struct {
	r     io.Reader
	start time.Time
	first time.Duration
}

func (f *firstByteReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && f.first == 0 {
		f.first = time.Since(f.start)
	}
	return n, err
}

// BenchmarkScaleListing100k lists a folder of 100,000 empty files over
// HTTP (HTML, as is and gzip-compressed as browsers take it, and
// ?format=json) and FTP (LIST, MLSD through textproto and a
// passive data connection). Each sub-benchmark starts a fresh share, lists
// once (cold: share's listing and rendering caches empty) and again
// (warm), and reports time to first byte, total time, share's CPU seconds
// and peak RSS of each.
func BenchmarkScaleListing100k(b *testing.B) {
	dir := scaleFixture(b)
	start := time.Now()
	if err := makeEmptyFiles(filepath.Join(dir, "many"), scaleListLen, false); err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d files in %s", scaleListLen, time.Since(start).Round(time.Millisecond))
	kinds := []struct {
		name string
		list func(s *scaleShare) (time.Duration, error)
	}{
		{"http-html", func(s *scaleShare) (time.Duration, error) {
			return httpListing(s.web+"/many/", `<tr class="f `, false)
		}},
		{"http-html-gzip", func(s *scaleShare) (time.Duration, error) {
			return httpListing(s.web+"/many/", `<tr class="f `, true)
		}},
		{"http-json", func(s *scaleShare) (time.Duration, error) {
			return httpListing(s.web+"/many/?format=json", `"name":`, false)
		}},
		{"ftp-LIST", func(s *scaleShare) (time.Duration, error) { return ftpListing(s.ftp, "LIST many", "\r\n") }},
		{"ftp-MLSD", func(s *scaleShare) (time.Duration, error) { return ftpListing(s.ftp, "MLSD many", "type=file;") }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				s := startScaleShare(b, dir)
				reportLoad(b)
				for _, when := range []string{"cold-", "warm-"} {
					u, err := measure(s.pid, func() (time.Duration, error) { return k.list(s) })
					if err != nil {
						b.Fatalf("%s listing: %v", when, err)
					}
					u.report(b, when)
				}
				s.stop()
			}
		})
	}
}

// makeEmptyFiles makes folder dir with n files named file-NNNNNN.txt,
// empty or, withData, holding their number.
func makeEmptyFiles(dir string, n int, withData bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("file-%06d.txt", i))
		var data []byte
		if withData {
			data = strconv.AppendInt(nil, int64(i), 10)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// httpListing fetches url, gzip-compressed as browsers ask if gz, and
// checks that the body holds marker once per file; it returns the time to
// its first (decompressed) byte.
func httpListing(url, marker string, gz bool) (time.Duration, error) {
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableCompression: !gz}}
	defer c.CloseIdleConnections()
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	fr := &firstByteReader{r: resp.Body, start: start}
	var body bytes.Buffer
	if _, err := body.ReadFrom(fr); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if n := bytes.Count(body.Bytes(), []byte(marker)); n != scaleListLen {
		return 0, fmt.Errorf("GET %s: %d entries, want %d", url, n, scaleListLen)
	}
	return fr.first, nil
}

// ftpListing logs in, sends list (LIST or MLSD) over a passive data
// connection and checks that the listing holds marker once per file; it
// returns the time from the command to the listing's first byte.
func ftpListing(addr, list, marker string) (time.Duration, error) {
	c, err := budgetSession("127.0.0.1", addr, false)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	dc, err := passiveData(c, "127.0.0.1")
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	_ = dc.SetDeadline(time.Now().Add(60 * time.Second))
	start := time.Now()
	if _, err := c.cmd(list, 150); err != nil {
		return 0, err
	}
	fr := &firstByteReader{r: dc, start: start}
	var body bytes.Buffer
	if _, err := body.ReadFrom(fr); err != nil {
		return 0, err
	}
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		return 0, err
	}
	if n := bytes.Count(body.Bytes(), []byte(marker)); n != scaleListLen {
		return 0, fmt.Errorf("%s: %d entries, want %d", list, n, scaleListLen)
	}
	return fr.first, nil
}

// passiveData opens a passive data connection (EPSV) from address from
// with the kernel's default buffers. Told that the address holds its quota
// of waiting passive ports (425), it asks again, for a bounded time.
func passiveData(c *budgetConn, from string) (net.Conn, error) {
	msg, err := c.cmd("EPSV", 229)
	for try := 0; err != nil && strings.HasPrefix(err.Error(), "425") && try < 600; try++ {
		time.Sleep(50 * time.Millisecond)
		msg, err = c.cmd("EPSV", 229)
	}
	if err != nil {
		return nil, err
	}
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i {
		return nil, fmt.Errorf("EPSV reply %q", msg)
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return d.Dial("tcp", net.JoinHostPort(host, msg[i+4:j]))
}

// treeFiles is the number of files of BenchmarkScaleTree's tree:
// SCALE_TREE_FILES, or scaleTreeFiles.
func treeFiles(b *testing.B) int {
	v := os.Getenv("SCALE_TREE_FILES")
	if v == "" {
		return scaleTreeFiles
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("SCALE_TREE_FILES=%q: want a positive number", v)
	}
	return n
}

// makeTree makes folder dir with files tiny files in folders of
// scaleTreeFan, two folders at a time, and returns the number of folders.
func makeTree(dir string, files int) (int, error) {
	folders := (files + scaleTreeFan - 1) / scaleTreeFan
	errs := make(chan error, folders)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for f := w; f < folders; f += 2 {
				n := min(scaleTreeFan, files-f*scaleTreeFan)
				errs <- makeEmptyFiles(filepath.Join(dir, fmt.Sprintf("dir-%04d", f)), n, true)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return folders, nil
}

// BenchmarkScaleTree streams ?zip, ?tar.gz and ?sha256 of a tree of
// SCALE_TREE_FILES tiny files in folders of 1,000,
// each from a fresh share, checks the entry count of what arrives, and
// reports entries/s, MB/s, share's CPU seconds, its RSS before, the
// highest RSS seen in the first half of the stream and its peak (VmHWM):
// memory flat with the tree means the last two are close. The default,
// 200,000 files, keeps each part near a minute on 2 busy cores; issue
// 14's 1,000,000 (SCALE_TREE_FILES=1000000, -timeout 60m) takes about a
// minute to make on tmpfs and minutes per archive (each stream is cut
// after 5 minutes).
func BenchmarkScaleTree(b *testing.B) {
	files := treeFiles(b)
	dir := scaleFixture(b)
	start := time.Now()
	folders, err := makeTree(filepath.Join(dir, "tree"), files)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d files in %d folders in %s", files, folders, time.Since(start).Round(time.Millisecond))
	entries := int64(1 + folders + files) // the top folder, its folders, the files
	kinds := []struct {
		query string
		count func(r io.Reader) (int64, error)
		want  int64
	}{
		{"zip", zipEntries, entries},
		{"tar.gz", tarEntries, entries},
		{"sha256", lineCount, int64(files)},
	}
	for _, k := range kinds {
		b.Run(k.query, func(b *testing.B) {
			for b.Loop() {
				s := startScaleShare(b, dir)
				reportLoad(b)
				var got int64
				cw := &countingWriter{}
				var mid int64
				u, err := measure(s.pid, func() (time.Duration, error) {
					stop := sampleRSS(s.pid, cw, &mid)
					defer stop()
					ttfb, n, err := streamTo(s.web+"/tree/?"+k.query, cw, k.count)
					got = n
					return ttfb, err
				})
				if err != nil {
					b.Fatalf("?%s: %v", k.query, err)
				}
				if got != k.want {
					b.Fatalf("?%s: %d entries, want %d", k.query, got, k.want)
				}
				secs := u.total.Seconds()
				b.ReportMetric(secs, "total-s")
				b.ReportMetric(float64(k.want)/secs, "entries/s")
				b.ReportMetric(float64(cw.n.Load())/secs/1e6, "MB/s")
				b.ReportMetric(u.cpu, "CPU-s")
				b.ReportMetric(float64(u.rssBefore)/1024, "RSS-before-MiB")
				b.ReportMetric(float64(mid)/1024, "RSS-first-half-MiB")
				b.ReportMetric(float64(u.peak)/1024, "peak-RSS-MiB")
				s.stop()
			}
		})
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// sampleRSS keeps in *mid the highest VmRSS of pid seen until the stream
// reaches half of what it will be; as that is known only at the end, it
// keeps every sample and settles at stop.
func sampleRSS(pid int, cw *countingWriter, mid *int64) (stop func()) {
	type sample struct{ bytes, rss int64 }
	var samples []sample
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				samples = append(samples, sample{cw.n.Load(), vm(pid, "VmRSS")})
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		half := cw.n.Load() / 2
		for _, s := range samples {
			if s.bytes <= half {
				*mid = max(*mid, s.rss)
			}
		}
	}
}

// streamTo fetches url, counts what arrives in cw and has count read the
// body meanwhile; it returns the time to the first byte and the count.
func streamTo(url string, cw *countingWriter, count func(io.Reader) (int64, error)) (time.Duration, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	fr := &firstByteReader{r: io.TeeReader(resp.Body, cw), start: start}
	n, err := count(fr)
	if err == nil {
		_, err = io.Copy(io.Discard, fr) // nothing may follow
	}
	return fr.first, n, err
}

// zipEntries reads a whole zip stream and returns the entry count its end
// of central directory records (ZIP64 when needed).
func zipEntries(r io.Reader) (int64, error) {
	tail := &tailWriter{max: 22 + 20 + 56} // EOCD, ZIP64 locator, ZIP64 EOCD
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(tail, r, buf); err != nil {
		return 0, err
	}
	t := tail.b
	if len(t) < 22 || binary.LittleEndian.Uint32(t[len(t)-22:]) != 0x06054b50 {
		return 0, fmt.Errorf("zip: no end of central directory")
	}
	n := int64(binary.LittleEndian.Uint16(t[len(t)-22+10:]))
	if n != 0xffff {
		return n, nil
	}
	if len(t) < 98 || binary.LittleEndian.Uint32(t) != 0x06064b50 {
		return 0, fmt.Errorf("zip: no ZIP64 end of central directory")
	}
	return int64(binary.LittleEndian.Uint64(t[32:])), nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b = append(t.b, p[max(0, len(p)-t.max):]...)
	t.b = t.b[max(0, len(t.b)-t.max):]
	return len(p), nil
}

// tarEntries decompresses a tar.gz stream and counts its entries.
func tarEntries(r io.Reader) (int64, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return 0, err
	}
	tr := tar.NewReader(gz)
	var n int64
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return n, gz.Close()
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// lineCount counts the lines of a stream.
func lineCount(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte("\n")))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkScaleDownloaders has many clients download one 64 MiB file at
// once, each over its own connection: 500 over HTTP from 25 loopback
// addresses (20 each, under HTTP's 64 per client address), then 200 over
// FTP (the server's total cap) from 50 addresses (4 each: every client has
// its passive data connection made before the transfers start, and the
// server lets one address hold 4 passive ports not yet in use). It reports the mean and the slowest downloader's MB/s and
// their ratio (fair: at least 0.5), the total MB/s, share's CPU seconds
// and its peak RSS.
func BenchmarkScaleDownloaders(b *testing.B) {
	dir := scaleFixture(b)
	if err := writeRepeated(filepath.Join(dir, "big.bin"), scaleBigSize); err != nil {
		b.Fatal(err)
	}
	if ln, err := net.Listen("tcp", "127.0.40.1:0"); err != nil {
		testutil.Skip(b, "no 127.0.0.0/8 source addresses: "+err.Error())
	} else {
		ln.Close()
	}
	b.Run("http-500", func(b *testing.B) {
		for b.Loop() {
			s := startScaleShare(b, dir)
			crowd(b, s, scaleHTTPPeers, scaleHTTPAddr, func(from string) downloader { return &httpDownloader{url: s.web + "/big.bin", from: from} })
			s.stop()
		}
	})
	b.Run("ftp-200", func(b *testing.B) {
		for b.Loop() {
			s := startScaleShare(b, dir)
			crowd(b, s, scaleFTPPeers, scaleFTPAddr, func(from string) downloader { return &ftpDownloader{addr: s.ftp, from: from} })
			s.stop()
		}
	})
}

// downloader is one client of the crowd: prepare connects (and logs in),
// fetch downloads the file and returns how many bytes came.
type downloader interface {
	prepare() error
	fetch(ctx context.Context, buf []byte) (int64, error)
	close()
}

// crowd runs n downloaders, perAddr from each loopback address, prepared
// first and then let go at once, and reports how fairly they were served.
func crowd(b *testing.B, s *scaleShare, n, perAddr int, mk func(from string) downloader) {
	reportLoad(b)
	ctx, cancel := context.WithTimeout(context.Background(), scaleRunLimit)
	defer cancel()
	took := make([]time.Duration, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	for i := range n {
		d := mk(fmt.Sprintf("127.0.40.%d", 1+i/perAddr))
		done.Go(func() {
			defer d.close()
			err := d.prepare()
			ready.Done()
			if err != nil {
				errs[i] = fmt.Errorf("prepare: %w", err)
				return
			}
			<-gate
			start := time.Now()
			got, err := d.fetch(ctx, make([]byte, 256<<10))
			took[i] = time.Since(start)
			if err == nil && got != scaleBigSize {
				err = fmt.Errorf("%d bytes, want %d", got, scaleBigSize)
			}
			errs[i] = err
		})
	}
	ready.Wait()
	var u usage
	u, _ = measure(s.pid, func() (time.Duration, error) {
		close(gate)
		done.Wait()
		return 0, nil
	})
	failed := 0
	var sum, slowest, fastest float64
	for i, err := range errs {
		if err != nil {
			if failed++; failed <= 3 {
				b.Logf("downloader %d: %v", i, err)
			}
			continue
		}
		rate := scaleBigSize / took[i].Seconds() / 1e6
		sum += rate
		slowest = min(rate, cmpOr(slowest, rate))
		fastest = max(fastest, rate)
	}
	if failed > 0 {
		b.Fatalf("%d of %d downloaders failed", failed, n)
	}
	mean := sum / float64(n)
	b.ReportMetric(mean, "mean-MB/s")
	b.ReportMetric(slowest, "slowest-MB/s")
	b.ReportMetric(fastest, "fastest-MB/s")
	b.ReportMetric(slowest/mean, "slowest/mean")
	b.ReportMetric(float64(n)*scaleBigSize/u.total.Seconds()/1e6, "total-MB/s")
	b.ReportMetric(u.total.Seconds(), "total-s")
	b.ReportMetric(u.cpu, "CPU-s")
	b.ReportMetric(float64(u.rssBefore)/1024, "RSS-before-MiB")
	b.ReportMetric(float64(u.peak)/1024, "peak-RSS-MiB")
}

// cmpOr returns v, or def when v is 0.
func cmpOr(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// httpDownloader fetches url over a connection of its own from address from.
type httpDownloader struct {
	url, from string
	c         *http.Client
}

func (d *httpDownloader) prepare() error {
	dialer := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(d.from)}}
	d.c = &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true, DisableCompression: true}}
	return nil
}

func (d *httpDownloader) fetch(ctx context.Context, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := d.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", d.url, resp.Status)
	}
	// io.Discard's ReadFrom would read in 8 KiB pieces; hide it.
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, buf)
}

func (d *httpDownloader) close() {
	if d.c != nil {
		d.c.CloseIdleConnections()
	}
}

// ftpDownloader logs in from address from and fetches big.bin over a
// passive data connection.
type ftpDownloader struct {
	addr, from string
	c          *budgetConn
	dc         net.Conn
}

func (d *ftpDownloader) prepare() error {
	var err error
	// A session just ended may still hold its place for a moment: the
	// server says so (421), and a client tries again.
	for try := 0; try < 50; try++ {
		if d.c, err = budgetSession(d.from, d.addr, false); err == nil || !strings.Contains(err.Error(), "421") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if _, err := d.c.cmd("TYPE I", 200); err != nil {
		return err
	}
	d.dc, err = passiveData(d.c, d.from)
	return err
}

func (d *ftpDownloader) fetch(ctx context.Context, buf []byte) (int64, error) {
	stop := context.AfterFunc(ctx, func() { d.dc.SetDeadline(time.Now()) })
	defer stop()
	if _, err := d.c.cmd("RETR big.bin", 150); err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, d.dc, buf)
	if err != nil {
		return n, err
	}
	_, _, err = d.c.tp.ReadResponse(226)
	return n, err
}

func (d *ftpDownloader) close() {
	if d.dc != nil {
		d.dc.Close()
	}
	if d.c != nil {
		d.c.Close()
	}
}
