package sharefs

import (
	"container/list"
	"os"
	"sync"
)

// maxHeldDirs bounds the folders a Dir keeps open between requests (one
// descriptor each).
const maxHeldDirs = 64

// heldDirs keeps folders open by the name they were asked by, each only
// while a Token over the folders looked in to find it, taken before each
// was looked in, stays current: a walk opens every file of a folder from
// the one handle instead of from the root.
// The least recently used is closed past maxHeldDirs.
type heldDirs struct {
	mu     sync.Mutex
	m      map[string]*heldDir
	lru    list.List // of *heldDir, most recently used first
	closed bool
}

// heldDir is one kept folder. refs counts its users, plus one while it
// is kept: the last to let go closes it, so eviction never closes a
// folder in use.
type heldDir struct {
	name string   // as asked for
	real []string // its path without links
	same int      // the elements of real that are those of name
	root *os.Root
	tok  *Token // over the folders looked in to find it
	refs int
	elem *list.Element
}

// get returns the kept folder asked for by name, to be released after
// use, or nil.
func (c *heldDirs) get(name string) *heldDir {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.m[name]
	if h == nil {
		return nil
	}
	h.refs++
	c.lru.MoveToFront(h.elem)
	return h
}

// put keeps h (its name, real, same, root and tok set). It reports false
// when it does not keep it (the caller still owns h.root).
func (c *heldDirs) put(h *heldDir) bool {
	if h.tok == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.m[h.name] != nil {
		return false
	}
	if c.m == nil {
		c.m = map[string]*heldDir{}
	}
	h.refs = 1
	h.elem = c.lru.PushFront(h)
	c.m[h.name] = h
	for c.lru.Len() > maxHeldDirs {
		c.dropLocked(c.lru.Back().Value.(*heldDir))
	}
	return true
}

// release ends one use of h.
func (c *heldDirs) release(h *heldDir) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unrefLocked(h)
}

// drop stops keeping h (its Token is no longer current).
func (c *heldDirs) drop(h *heldDir) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[h.name] == h {
		c.dropLocked(h)
	}
}

func (c *heldDirs) dropLocked(h *heldDir) {
	delete(c.m, h.name)
	c.lru.Remove(h.elem)
	c.unrefLocked(h)
}

func (c *heldDirs) unrefLocked(h *heldDir) {
	h.refs--
	if h.refs == 0 {
		h.root.Close()
	}
}

// close closes every kept folder not in use, the others when released,
// and keeps no more.
func (c *heldDirs) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.lru.Len() > 0 {
		c.dropLocked(c.lru.Back().Value.(*heldDir))
	}
}

// count tells how many folders are kept.
func (c *heldDirs) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
