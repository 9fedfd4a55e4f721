package httpshare

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"example.com/share/sharefs"
)

// Bounds of the listing cache. A listing of 10,000 names is a few MiB of
// HTML, so a handful of huge folders fit, and many ordinary ones.
const cacheMaxFolders = 64

// cacheMaxBytes bounds the bytes of all cached renderings (a variable so
// tests can make it small).
var cacheMaxBytes int64 = 48 << 20

const (
	// watchedMaxAge re-renders even watched folders now and then: a
	// sub-folder's modification time changes without an event in its
	// parent.
	watchedMaxAge = 30 * time.Second
	// unwatchedTTL bounds how stale a folder may be when inotify is not
	// available and only its modification time is checked.
	unwatchedTTL = 2 * time.Second
)

// cachedBody is one rendered variant of a listing.
type cachedBody struct {
	data []byte
	etag string
}

// variant names one rendering of a folder: format, order, compression.
type variant struct {
	format listingFormat
	order  listOrder
	gzip   bool
}

// folderEntry is the cache's record of one folder.
type folderEntry struct {
	name    string
	created time.Time
	lastUse time.Time
	wd      int           // inotify watch, or -1
	stat    sharefs.Entry // the folder when cached
	removed bool          // guarded by listingCache.mu
	size    int64

	listOnce sync.Once
	entries  []sharefs.Entry
	listErr  error

	mu         sync.Mutex // guards bodies and readme
	bodies     map[variant]*cachedBody
	readme     []byte
	readmeDone bool
}

// listingCache keeps rendered listings per folder until the folder
// changes: inotify tells when, where available; otherwise a folder is
// trusted while its modification time stays put, for a short time.
type listingCache struct {
	view    sharefs.View
	log     *slog.Logger
	ftpPort int
	root    string // the shared folder's name
	base    string // path prefix of every link: "" or "/TOKEN" (--secret)

	mu      sync.Mutex
	folders map[string]*folderEntry
	bytes   int64
	watch   *watcher // nil without inotify
	closed  bool
	initW   sync.Once
}

func newListingCache(view sharefs.View, log *slog.Logger, ftpPort int, root string) *listingCache {
	return &listingCache{view: view, log: log, ftpPort: ftpPort, root: root, folders: map[string]*folderEntry{}}
}

// get returns the rendered listing of folder name in the given format;
// st is the folder as the caller just saw it.
func (c *listingCache) get(name string, st sharefs.Entry, v variant) (*cachedBody, error) {
	c.initW.Do(c.startWatcher)
	e := c.entry(name, st)
	e.listOnce.Do(func() { e.entries, e.listErr = c.view.List(name) })
	if e.listErr != nil {
		c.drop(e)
		return nil, e.listErr
	}
	return c.body(e, v)
}

// startWatcher sets up inotify if the view is a folder on disk.
func (c *listingCache) startWatcher() {
	root, ok := c.view.(interface{ Path() string })
	if !ok {
		return
	}
	w, err := newWatcher(root.Path(), c.changed)
	if err != nil {
		c.log.Warn("listing cache falls back to polling", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		w.close()
		return
	}
	c.watch = w
}

// entry finds a fresh cache record for folder name, seen as st, or
// makes one. The inotify watch is added before the folder is read, so no
// change is missed.
func (c *listingCache) entry(name string, st sharefs.Entry) *folderEntry {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.folders[name]
	if e != nil && !fresh(e, now, st) {
		c.removeLocked(e)
		e = nil
	}
	if e == nil {
		e = &folderEntry{name: name, created: now, wd: -1, stat: st}
		if c.watch != nil {
			e.wd = c.watch.add(name)
		}
		c.folders[name] = e
		c.evictLocked(e)
	}
	e.lastUse = now
	return e
}

// fresh reports whether a cached folder may still be served, given the
// folder as it is now. The same path may now be another folder (its
// parent was renamed), so the identity must match too. A watched folder
// is current until an event says otherwise; an unwatched one while its
// modification time stays put, for a short time only, since a file
// changing in place does not touch it.
func fresh(e *folderEntry, now time.Time, st sharefs.Entry) bool {
	if e.stat.Version != st.Version {
		return false
	}
	age := now.Sub(e.created)
	if e.wd >= 0 {
		return age < watchedMaxAge
	}
	return age < unwatchedTTL && e.stat.ModTime.Equal(st.ModTime)
}

// body returns one rendered variant of e, rendering it once; the gzip
// variant is made from the plain one.
func (c *listingCache) body(e *folderEntry, v variant) (*cachedBody, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b := e.bodies[v]; b != nil {
		return b, nil
	}
	if e.bodies == nil {
		e.bodies = map[variant]*cachedBody{}
	}
	plainKey := v
	plainKey.gzip = false
	plain := e.bodies[plainKey]
	var added int64
	if plain == nil {
		data, err := c.render(e, v)
		if err != nil {
			return nil, err
		}
		plain = newBody(data)
		e.bodies[plainKey] = plain
		added += int64(len(data))
	}
	if v.gzip {
		data, err := gzipBytes(plain.data)
		if err != nil {
			return nil, fmt.Errorf("compress listing of %q: %w", e.name, err)
		}
		e.bodies[v] = newBody(data)
		added += int64(len(data))
	}
	if c.account(e, added) {
		c.keepOnly(e, v, plainKey)
	}
	return e.bodies[v], nil
}

// keepOnly drops every rendering of e but the two kept, for a folder so
// big that its variants alone would overflow the cache. Called with e.mu
// held.
func (c *listingCache) keepOnly(e *folderEntry, keep, plain variant) {
	var freed int64
	for k, b := range e.bodies {
		if k != keep && k != plain {
			freed += int64(len(b.data))
			delete(e.bodies, k)
		}
	}
	c.account(e, -freed)
}

// render renders one plain variant; called with e.mu held.
func (c *listingCache) render(e *folderEntry, v variant) ([]byte, error) {
	entries := sorted(e.entries, v.order)
	if v.format == formatJSON {
		return renderJSON(c.base, e.name, entries)
	}
	if !e.readmeDone {
		e.readme = renderReadme(c.view, e.name, e.entries, c.log)
		e.readmeDone = true
	}
	p := pageData{base: c.base, dir: e.name, root: c.root, order: v.order, ftpPort: c.ftpPort, readme: e.readme, noSums: !sumsAvailable(c.view)}
	return renderHTML(p, entries), nil
}

func newBody(data []byte) *cachedBody {
	h := fnv.New64a()
	h.Write(data)
	return &cachedBody{data: data, etag: fmt.Sprintf(`"%016x"`, h.Sum64())}
}

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

// account adds rendered bytes to the cache's total and evicts other
// folders if the total is over its bound. It reports whether it still is.
func (c *listingCache) account(e *folderEntry, n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.removed {
		return false
	}
	e.size += n
	c.bytes += n
	c.evictLocked(e)
	return c.bytes > cacheMaxBytes
}

// evictLocked drops least recently used folders, never keep, until the
// cache is within its bounds.
func (c *listingCache) evictLocked(keep *folderEntry) {
	for len(c.folders) > cacheMaxFolders || c.bytes > cacheMaxBytes {
		var oldest *folderEntry
		for _, e := range c.folders {
			if e != keep && (oldest == nil || e.lastUse.Before(oldest.lastUse)) {
				oldest = e
			}
		}
		if oldest == nil {
			return
		}
		c.removeLocked(oldest)
	}
}

// drop forgets e if it is still cached.
func (c *listingCache) drop(e *folderEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(e)
}

func (c *listingCache) removeLocked(e *folderEntry) {
	if e.removed {
		return
	}
	e.removed = true
	if c.folders[e.name] == e {
		delete(c.folders, e.name)
	}
	c.bytes -= e.size
	if e.wd >= 0 && c.watch != nil {
		c.watch.release(e.wd, e.name)
	}
}

// changed is the watcher's report: the folders watched by wd changed;
// wd < 0 means events were lost, so everything goes.
func (c *listingCache) changed(wd int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.folders {
		if wd < 0 || e.wd == wd {
			c.removeLocked(e)
		}
	}
}

// close stops the watcher and empties the cache.
func (c *listingCache) close() {
	c.mu.Lock()
	w := c.watch
	c.closed = true
	for _, e := range c.folders {
		c.removeLocked(e)
	}
	c.watch = nil
	c.mu.Unlock()
	if w != nil {
		w.close()
	}
}
