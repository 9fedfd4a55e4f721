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

	"example.com/share/internal/membudget"
	"example.com/share/sharefs"
)

// Small files are kept in memory once read: a request for one then costs
// a single stat instead of an open, a sendfile and a close, which is most
// of the work of serving a few kilobytes.
const smallFileMax = 64 << 10

// smallCacheMax bounds the bytes of all cached small files (a variable
// so tests can make it small).
var smallCacheMax int64 = membudget.SmallFiles

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

	// trust lets the file be served without a stat (see trusted);
	// lastVouch (Unix nanoseconds) is when trust was last sought.
	trust     atomic.Pointer[trustGrant]
	lastVouch atomic.Int64
}

// A request for a cached small file still costs a stat, to see that the
// file is unchanged: a system call and its allocations, a tenth of the
// CPU of such a request. A file the view's change notification vouches
// for skips it: it is served while its Token is current, for
// trustMaxAge at most, which bounds what notification cannot see
// (writes through a shared mapping).
const trustMaxAge = time.Second

// trustGrant is the view's word that a file is unchanged, until when.
type trustGrant struct {
	tok   *sharefs.Token
	until int64 // Unix nanoseconds
}

// vouchEvery bounds how often trust is sought for one file, so a folder
// that changes all the time costs no more than a stat per request.
const vouchEvery = 100 * time.Millisecond

// smallCache holds small files by view name.
type smallCache struct {
	view  sharefs.View
	mu    sync.RWMutex
	files map[string]*smallFile
	bytes int64
}

func newSmallCache(view sharefs.View) *smallCache {
	return &smallCache{view: view, files: map[string]*smallFile{}}
}

// trusted returns the cached file name if the view vouches that it has
// not changed since it was last seen, so it needs no stat.
func (c *smallCache) trusted(name string) *smallFile {
	c.mu.RLock()
	f := c.files[name]
	c.mu.RUnlock()
	if f == nil {
		return nil
	}
	g := f.trust.Load()
	if g == nil || time.Now().UnixNano() >= g.until || !g.tok.Current() {
		return nil
	}
	return f
}

// vouch seeks trust for f, just seen unchanged at name by a stat: a
// Token is taken, then the file is seen once more, so a change made
// before the Token shows in the stat and one after it in the Token.
func (c *smallCache) vouch(name string, f *smallFile) {
	now := time.Now().UnixNano()
	last := f.lastVouch.Load()
	if now-last < int64(vouchEvery) || !f.lastVouch.CompareAndSwap(last, now) {
		return
	}
	tok := c.view.Watch(name)
	if tok == nil {
		return
	}
	if e, err := c.view.Stat(name); err == nil && e.Version == f.stamp {
		f.trust.Store(&trustGrant{tok: tok, until: now + int64(trustMaxAge)})
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
	setFileHeaders(sf.header, name, ctype)
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
		setFileHeaders(h, name, f.ctype)
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
// answered 416 as it should be, at most maxRanges ranges, and a range
// unit other than bytes ignored.
func serveContent(w http.ResponseWriter, r *http.Request, name string, e sharefs.Entry, rs io.ReadSeeker) {
	dropUnusableRange(r)
	if !dropEmptySuffixes(r) {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(e.Size, 10))
		http.Error(w, "416 requested range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
		return
	}
	http.ServeContent(w, r, path.Base(name), e.ModTime, rs)
}

// dropUnusableRange drops a Range header that is to be ignored: of
// another unit, of more than maxRanges ranges, or behind a date If-Range.
func dropUnusableRange(r *http.Request) {
	if r.Header.Get("Range") != "" && (!byteRanges(r) || strings.Count(r.Header.Get("Range"), ",") >= maxRanges || !strongIfRange(r)) {
		r.Header.Del("Range")
	}
}

// byteRanges spells the Range header's unit as net/http reads it (units
// are case-insensitive) and reports false for any other unit, which a
// server must ignore (RFC 9110, 14.2) where net/http would answer 416.
func byteRanges(r *http.Request) bool {
	unit, spec, ok := strings.Cut(r.Header.Get("Range"), "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return false
	}
	r.Header.Set("Range", "bytes="+spec)
	return true
}

// strongIfRange reports whether an If-Range may splice a range onto what
// the client holds: only an entity tag may. A date is a weak validator:
// an encrypted file keeps its plain file's time while its bytes change
// with the recipients, so a date could join two different messages.
// Every response carries an ETag, which clients resume with.
func strongIfRange(r *http.Request) bool {
	v := r.Header.Get("If-Range")
	return v == "" || strings.HasPrefix(v, `"`)
}
