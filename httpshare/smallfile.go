package httpshare

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/share/sharefs"
)

// Small files are kept in memory once read: a request for one then costs
// a single stat instead of an open, a sendfile and a close, which is most
// of the work of serving a few kilobytes.
const smallFileMax = 64 << 10

// smallCacheMax bounds the bytes of all cached small files (a variable
// so tests can make it small).
var smallCacheMax int64 = 16 << 20

// smallFile is one cached file with its response headers.
type smallFile struct {
	stamp   sharefs.Version
	entry   sharefs.Entry
	data    []byte
	ctype   string
	etag    string
	lastMod string
	// header is the whole header of a plain GET but the Date, made
	// once; serveSmall copies its value slices into the response. Nothing
	// may modify them: net/http copies the header before writing it.
	header http.Header

	// Trust given by fileTrust: the generation it holds at (0: none),
	// until when, and when it was last sought (all Unix nanoseconds).
	trustGen   atomic.Uint64
	trustUntil atomic.Int64
	lastVouch  atomic.Int64
}

// vouchEvery bounds how often trust is sought for one file, so a folder
// that changes all the time costs no more than a stat per request.
const vouchEvery = 100 * time.Millisecond

// smallCache holds small files by view name.
type smallCache struct {
	mu    sync.RWMutex
	files map[string]*smallFile
	bytes int64

	root      string // the view's folder; "" when it has none
	trustOnce sync.Once
	trust     atomic.Pointer[fileTrust] // nil until started, or where unavailable
	closed    atomic.Bool
}

func newSmallCache(view sharefs.View) *smallCache {
	c := &smallCache{files: map[string]*smallFile{}}
	if v, ok := view.(interface{ Path() string }); ok {
		c.root = v.Path()
	}
	return c
}

// trusted returns the cached file name if fileTrust vouches that it has
// not changed since it was last seen, so it needs no stat.
func (c *smallCache) trusted(name string) *smallFile {
	t := c.trust.Load()
	if t == nil {
		return nil
	}
	c.mu.RLock()
	f := c.files[name]
	c.mu.RUnlock()
	if f == nil || !t.current(f.trustGen.Load(), f.trustUntil.Load()) {
		return nil
	}
	return f
}

// vouch seeks trust for f, just seen unchanged at name by a stat.
func (c *smallCache) vouch(name string, f *smallFile) {
	if c.root == "" || c.closed.Load() {
		return
	}
	c.trustOnce.Do(func() {
		if t := newFileTrust(c.root); t != nil {
			c.trust.Store(t)
		}
	})
	t := c.trust.Load()
	now := time.Now().UnixNano()
	last := f.lastVouch.Load()
	if t == nil || now-last < int64(vouchEvery) || !f.lastVouch.CompareAndSwap(last, now) {
		return
	}
	if g := t.vouch(name, f.stamp); g != 0 {
		f.trustUntil.Store(now + int64(trustMaxAge))
		f.trustGen.Store(g)
	}
}

// close stops fileTrust; nothing is trusted after it.
func (c *smallCache) close() {
	c.closed.Store(true)
	c.trustOnce.Do(func() {})
	if t := c.trust.Load(); t != nil {
		t.close()
	}
}

// get returns the cached file if it is the version e describes.
func (c *smallCache) get(name string, e sharefs.Entry) *smallFile {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f := c.files[name]; f != nil && f.stamp == e.Version {
		return f
	}
	return nil
}

// put stores f, dropping other files (any: map order is random enough)
// while the cache is over its bound.
func (c *smallCache) put(name string, f *smallFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.files[name]; old != nil {
		c.bytes -= int64(len(old.data))
	}
	c.files[name] = f
	c.bytes += int64(len(f.data))
	for other, o := range c.files {
		if c.bytes <= smallCacheMax {
			break
		}
		if other != name {
			delete(c.files, other)
			c.bytes -= int64(len(o.data))
		}
	}
}

// settleTime is how old a file's modification time must be before the
// file is cached. File systems keep that time in coarse ticks, so a file
// written twice within one tick could keep size and time; once the tick
// is safely past, any new write moves the time.
const settleTime = 2 * time.Second

// cacheable reports whether an open file should be kept in memory: a
// small regular file of the disk (an encrypting view's streams differ on
// every read and carry no inode), not written in the last moments.
func cacheable(f sharefs.File, e sharefs.Entry) bool {
	_, isOS := f.(*os.File)
	return isOS && !e.Version.IsZero() && e.Size >= 0 && e.Size <= smallFileMax &&
		time.Since(e.ModTime) > settleTime
}

// readSmall reads a cacheable file whole and prepares its headers. It
// fails if the file is shorter than described (it is being rewritten).
func readSmall(name string, f sharefs.File, e sharefs.Entry) (*smallFile, error) {
	data := make([]byte, e.Size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	ctype := typeByExtension(name)
	if ctype == "" {
		ctype = http.DetectContentType(data[:min(len(data), sniffLen)])
	}
	sf := &smallFile{
		stamp:   e.Version,
		entry:   e,
		data:    data,
		ctype:   ctype,
		etag:    etag(e),
		lastMod: e.ModTime.UTC().Format(http.TimeFormat),
	}
	sf.header = http.Header{}
	setFileHeaders(sf.header, ctype)
	sf.header.Set("ETag", sf.etag)
	sf.header.Set("Accept-Ranges", "bytes")
	sf.header.Set("Last-Modified", sf.lastMod)
	sf.header.Set("Content-Length", strconv.Itoa(len(data)))
	return sf, nil
}

// serveSmall answers GET and HEAD from memory. A plain GET is written
// directly; anything with ranges or preconditions goes through
// ServeContent like a file on disk.
func serveSmall(w http.ResponseWriter, r *http.Request, name string, f *smallFile) {
	h := w.Header()
	if !isPlainGet(r) {
		setFileHeaders(h, f.ctype)
		h.Set("ETag", f.etag)
		serveContent(w, r, name, f.entry, bytes.NewReader(f.data))
		return
	}
	for k, v := range f.header {
		h[k] = v
	}
	holdResponse(r)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.data)
}

// maxRanges is the most byte ranges one request gets; a request for more
// gets the whole file, as RFC 9110 allows: thousands of tiny ranges would
// make a response many times the size of the file.
const maxRanges = 64

// serveContent is http.ServeContent, with a suffix range of no bytes
// answered 416 as it should be, and at most maxRanges ranges.
func serveContent(w http.ResponseWriter, r *http.Request, name string, e sharefs.Entry, rs io.ReadSeeker) {
	if strings.Count(r.Header.Get("Range"), ",") >= maxRanges {
		r.Header.Del("Range")
	}
	if !dropEmptySuffixes(r) {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(e.Size, 10))
		http.Error(w, "416 requested range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
		return
	}
	http.ServeContent(w, r, path.Base(name), e.ModTime, rs)
}
