package sharefs

import (
	"container/list"
	"slices"
	"sync"
	"time"
	"unsafe"

	"example.com/share/internal/membudget"
)

// Watch implements View.
func (d *Dir) Watch(name string) *Token {
	rel, err := d.clean(name)
	if err != nil {
		return nil
	}
	if d.watcher() == nil {
		return nil
	}
	var looked lookedIn
	info, real, ok := d.resolve(rel, &looked)
	if !ok {
		return nil
	}
	// The folders looked in, then the name itself.
	tok := d.watch.token([]string{real}, []bool{info.IsDir()})
	if rel != "." {
		tok = looked.tok.then(tok)
	}
	return tok
}

// Bounds of the listing cache.
const (
	// listCacheMaxBytes bounds the memory of all kept listings.
	listCacheMaxBytes = membudget.Listings
	// listMaxAge re-reads even a watched folder now and then: a
	// sub-folder's modification time changes without an event in its
	// parent.
	listMaxAge = 30 * time.Second
	// unwatchedMaxAge bounds how stale an unwatched folder may be: it is
	// kept while its version (modification time) stays put, and a file
	// changing in place does not touch that.
	unwatchedMaxAge = 2 * time.Second
)

// listCache keeps listings by folder while their Token is current, the
// least recently used dropped past the byte bound. One listing serves
// every caller (HTTP renderings, FTP listings) until the folder changes.
type listCache struct {
	mu       sync.Mutex
	m        map[string]*list.Element // of *listed, by cleaned name
	lru      list.List
	bytes    int64
	inflight map[string]*listCall
}

// listCall is one reading of a folder that every caller asking for it
// meanwhile waits for: a busy folder is read once, not once per client.
type listCall struct {
	done    chan struct{}
	entries []Entry
	err     error
}

// load reads folder rel with read, once for all concurrent callers, and
// keeps the result.
func (c *listCache) load(rel string, read func() ([]Entry, *Token, Version, error)) ([]Entry, error) {
	c.mu.Lock()
	if call := c.inflight[rel]; call != nil {
		c.mu.Unlock()
		<-call.done
		return call.entries, call.err
	}
	if c.inflight == nil {
		c.inflight = map[string]*listCall{}
	}
	call := &listCall{done: make(chan struct{})}
	c.inflight[rel] = call
	c.mu.Unlock()

	entries, tok, v, err := read()
	if err == nil {
		entries = c.put(rel, entries, tok, v)
	}
	call.entries, call.err = entries, err
	c.mu.Lock()
	delete(c.inflight, rel)
	c.mu.Unlock()
	close(call.done)
	return entries, err
}

type listed struct {
	name    string
	entries []Entry
	tok     *Token  // nil: unwatched
	version Version // of the folder, for an unwatched one
	at      time.Time
	size    int64
}

// get returns the kept listing of rel if it is still current; version
// tells an unwatched folder's version now. A listing no longer current
// stays until the next reading replaces it (see put).
func (c *listCache) get(rel string, version func() Version) ([]Entry, bool) {
	c.mu.Lock()
	el := c.m[rel]
	if el == nil {
		c.mu.Unlock()
		return nil, false
	}
	l := el.Value.(*listed)
	c.mu.Unlock()
	if !l.current(version) {
		return nil, false
	}
	c.mu.Lock()
	if c.m[rel] == el {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	return l.entries, true
}

func (l *listed) current(version func() Version) bool {
	age := time.Since(l.at)
	if l.tok != nil {
		return age < listMaxAge && l.tok.Current()
	}
	return age < unwatchedMaxAge && !l.version.IsZero() && version() == l.version
}

// put keeps the listing of rel, read after tok was taken (nil if the
// folder, of version v, is not watched), and returns the listing to
// hand out: the one kept before if nothing in it changed, so that what
// callers made from it (renderings) stays valid.
func (c *listCache) put(rel string, entries []Entry, tok *Token, v Version) []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*list.Element{}
	}
	if old := c.m[rel]; old != nil {
		if prev := old.Value.(*listed).entries; slices.Equal(prev, entries) {
			entries = prev
		}
		c.removeLocked(old)
	}
	l := &listed{name: rel, entries: entries, tok: tok, version: v, at: time.Now(), size: listingSize(entries)}
	// A huge folder may push out all the others: reading those again is
	// cheap, while a folder of 120,000 files not kept cost a second of CPU
	// on every request for it, and one client asking in a loop kept a core
	// busy.
	if l.size > listCacheMaxBytes {
		return entries
	}
	c.m[rel] = c.lru.PushFront(l)
	c.bytes += l.size
	for c.bytes > listCacheMaxBytes {
		c.removeLocked(c.lru.Back())
	}
	return entries
}

func (c *listCache) removeLocked(el *list.Element) {
	l := el.Value.(*listed)
	c.lru.Remove(el)
	delete(c.m, l.name)
	c.bytes -= l.size
}

// listingSize estimates the memory a listing holds.
func listingSize(entries []Entry) int64 {
	n := int64(cap(entries)) * int64(unsafe.Sizeof(Entry{}))
	for _, e := range entries {
		n += int64(len(e.Name))
	}
	return n
}
