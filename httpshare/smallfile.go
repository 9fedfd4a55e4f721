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

// fileStamp identifies one version of a file: any write changes its
// modification time, any replacement its inode.
type fileStamp struct {
	dev, inode uint64
	size       int64
	modNano    int64
}

func fileStampOf(e sharefs.Entry) fileStamp {
	return fileStamp{dev: e.Dev, inode: e.Inode, size: e.Size, modNano: e.ModTime.UnixNano()}
}

// smallFile is one cached file with its response headers.
type smallFile struct {
	stamp   fileStamp
	entry   sharefs.Entry
	data    []byte
	ctype   string
	etag    string
	lastMod string
	// header is the whole header of a plain GET but the Date, made
	// once; serveSmall copies its value slices into the response. Nothing
	// may modify them: net/http copies the header before writing it.
	header http.Header
}

// smallCache holds small files by view name.
type smallCache struct {
	mu    sync.RWMutex
	files map[string]*smallFile
	bytes int64
}

func newSmallCache() *smallCache {
	return &smallCache{files: map[string]*smallFile{}}
}

// get returns the cached file if it is the version e describes.
func (c *smallCache) get(name string, e sharefs.Entry) *smallFile {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f := c.files[name]; f != nil && f.stamp == fileStampOf(e) {
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
	return isOS && e.Inode != 0 && e.Size >= 0 && e.Size <= smallFileMax &&
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
		stamp:   fileStampOf(e),
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
