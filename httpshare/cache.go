package httpshare

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/list"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"weak"

	"example.com/share/internal/membudget"
	"example.com/share/sharefs"
)

// cacheMaxBytes bounds the bytes of all kept renderings, every variant
// counted (a variable so tests can make it small). A rendering over half
// of it is served but not kept.
var cacheMaxBytes int64 = membudget.Renderings

// cachedBody is one rendered variant of a listing.
type cachedBody struct {
	data []byte
	etag string
	// A page too big to keep whole is kept compressed only (bigPage):
	// its gzip body carries the tag and size of the page itself, and the
	// body handed to a client that does not take gzip is that same data,
	// inflated as it is sent.
	pageTag  string
	pageSize int64
	inflate  bool
}

// variant names one rendering of a folder: format, order, compression.
type variant struct {
	format listingFormat
	order  listOrder
	gzip   bool
}

// rendered is the cache's record of one folder listing: which of the
// view's listings it was made from (the model) and its renderings. It
// does not hold that listing: the view's cache bounds listings, and one
// held here past it would be memory no budget counts.
type rendered struct {
	name  string
	first weak.Pointer[sharefs.Entry] // the listing's first entry; identity matters
	count int
	elem  *list.Element // in listingCache.lru

	mu sync.Mutex // guards bodies and readme
	// size is guarded by listingCache.mu.
	bodies     map[variant]*cachedBody
	size       int64
	readme     []byte
	readmeDone bool
}

// listingCache keeps rendered listings. It decides nothing about change:
// the view keeps a folder's listing while it is unchanged and hands out
// the same slice, and a rendering is kept for as long as it was made
// from that very slice.
type listingCache struct {
	view    sharefs.View
	log     *slog.Logger
	ftpPort int
	root    string       // the shared folder's name
	base    string       // path prefix of every link: "" or "/TOKEN" (--secret)
	signing *pageSigning // nil without signing

	mu      sync.Mutex
	folders map[string]*rendered
	lru     list.List // of *rendered, most recently used first
	bytes   int64
}

func newListingCache(view sharefs.View, log *slog.Logger, ftpPort int, root string) *listingCache {
	return &listingCache{view: view, log: log, ftpPort: ftpPort, root: root, folders: map[string]*rendered{}}
}

// get returns the rendered listing of folder name in variant v.
func (c *listingCache) get(name string, v variant) (*cachedBody, error) {
	entries, err := c.view.List(name)
	if err != nil {
		return nil, err
	}
	return c.body(c.record(name, entries), entries, v)
}

// record finds the record of folder name made from entries, or makes one.
func (c *listingCache) record(name string, entries []sharefs.Entry) *rendered {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.folders[name]; r != nil {
		if r.madeFrom(entries) {
			c.lru.MoveToFront(r.elem)
			return r
		}
		c.removeLocked(r)
	}
	r := &rendered{name: name, count: len(entries), bodies: map[variant]*cachedBody{}}
	if len(entries) > 0 {
		r.first = weak.Make(&entries[0])
	}
	r.elem = c.lru.PushFront(r)
	c.folders[name] = r
	return r
}

// madeFrom reports whether r was made from this very listing of the view
// (the same array), not merely an equal one. A listing the view has let
// go is no longer in memory, so it cannot be the one asked about.
func (r *rendered) madeFrom(entries []sharefs.Entry) bool {
	if r.count != len(entries) {
		return false
	}
	return len(entries) == 0 || r.first.Value() == &entries[0]
}

// body returns variant v of r, made from entries, rendering it once; the
// gzip variant is made from the plain one.
func (c *listingCache) body(r *rendered, entries []sharefs.Entry, v variant) (*cachedBody, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bodies[v]; b != nil {
		return b, nil
	}
	if v.format == formatHTML && pageEstimate(r.readme, entries) > cacheMaxBytes/2 {
		return c.bigPage(r, entries, v)
	}
	plainKey := v
	plainKey.gzip = false
	plain := r.bodies[plainKey]
	if plain == nil {
		data, err := c.render(r, entries, v)
		if err != nil {
			return nil, err
		}
		plain = newBody(data)
		c.keep(r, plainKey, plain)
	}
	if !v.gzip {
		return plain, nil
	}
	data, err := gzipBytes(plain.data)
	if err != nil {
		return nil, fmt.Errorf("compress listing of %q: %w", r.name, err)
	}
	b := newBody(data)
	c.keep(r, v, b)
	return b, nil
}

// keep stores body b as variant v of r, within the byte bound: other
// folders go first, least recently used first, then r's other variants.
// Called with r.mu held.
func (c *listingCache) keep(r *rendered, v variant, b *cachedBody) {
	n := int64(len(b.data))
	if n > cacheMaxBytes/2 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folders[r.name] != r {
		return // replaced or evicted meanwhile
	}
	for c.bytes+n > cacheMaxBytes {
		oldest := c.lru.Back().Value.(*rendered)
		if oldest == r {
			break
		}
		c.removeLocked(oldest)
	}
	for k, old := range r.bodies {
		if c.bytes+n <= cacheMaxBytes {
			break
		}
		delete(r.bodies, k)
		r.size -= int64(len(old.data))
		c.bytes -= int64(len(old.data))
	}
	r.bodies[v] = b
	r.size += n
	c.bytes += n
}

// removeLocked forgets r; its renderings go with it. A request still
// using r keeps its own reference.
func (c *listingCache) removeLocked(r *rendered) {
	if c.folders[r.name] == r {
		delete(c.folders, r.name)
	}
	c.lru.Remove(r.elem)
	c.bytes -= r.size
	r.size = 0
}

// render renders one plain variant; called with r.mu held.
func (c *listingCache) render(r *rendered, entries []sharefs.Entry, v variant) ([]byte, error) {
	if v.format == formatJSON {
		return renderJSON(c.base, r.name, sorted(entries, v.order))
	}
	return renderHTML(c.pageData(r, entries, v.order), sorted(entries, v.order)), nil
}

// pageData describes the page of r; called with r.mu held.
func (c *listingCache) pageData(r *rendered, entries []sharefs.Entry, order listOrder) pageData {
	if !r.readmeDone {
		r.readme = renderReadme(c.view, r.name, entries, c.log)
		r.readmeDone = true
	}
	return pageData{base: c.base, dir: r.name, root: c.root, order: order, ftpPort: c.ftpPort, readme: r.readme, noSums: !sumsAvailable(c.view), signing: c.signing, enc: encryptionNoteOf(c.view)}
}

// bigPage returns variant v of a page too big to keep whole (a folder of
// a hundred thousand files makes 20 MB of HTML): the page is written
// straight into the compressor, never whole in memory, and only its
// gzip is kept. Called with r.mu held.
func (c *listingCache) bigPage(r *rendered, entries []sharefs.Entry, v variant) (*cachedBody, error) {
	gzKey := v
	gzKey.gzip = true
	gz := r.bodies[gzKey]
	if gz == nil {
		var err error
		if gz, err = c.renderCompressed(r, entries, v.order); err != nil {
			return nil, fmt.Errorf("compress listing of %q: %w", r.name, err)
		}
		c.keep(r, gzKey, gz)
	}
	if v.gzip {
		return gz, nil
	}
	return &cachedBody{data: gz.data, etag: gz.pageTag, pageSize: gz.pageSize, inflate: true}, nil
}

// renderCompressed writes the page of r in order through a tag and a
// count into gzip (at its fastest: the page is large).
func (c *listingCache) renderCompressed(r *rendered, entries []sharefs.Entry, order listOrder) (*cachedBody, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	sum, count := fnv.New64a(), &sizeCounter{}
	bw := bufio.NewWriterSize(io.MultiWriter(sum, count, zw), outBufSize)
	writePage(bw, c.pageData(r, entries, order), sorted(entries, order))
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := newBody(bytes.Clone(out.Bytes()))
	b.pageTag, b.pageSize = tagOf(sum), count.n
	return b, nil
}

// length is the size of the body as sent.
func (b *cachedBody) length() int64 {
	if b.inflate {
		return b.pageSize
	}
	return int64(len(b.data))
}

// writeTo sends the body, inflating a page kept only compressed.
func (b *cachedBody) writeTo(w io.Writer) error {
	if !b.inflate {
		_, err := w.Write(b.data)
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.data))
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr)
	return err
}

// sizeCounter counts what is written through it.
type sizeCounter struct{ n int64 }

func (w *sizeCounter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func newBody(data []byte) *cachedBody {
	h := fnv.New64a()
	h.Write(data)
	return &cachedBody{data: data, etag: tagOf(h)}
}

// tagOf is the entity tag of what h has hashed.
func tagOf(h hash.Hash64) string { return fmt.Sprintf(`"%016x"`, h.Sum64()) }

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
