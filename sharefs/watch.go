package sharefs

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// Change notification. A Token, taken before a name is read, stays
// current until the system reports a change to that name or to any
// folder its resolution passed through; caches keep what they read with
// its Token and read again once it is no longer current. Where the
// system cannot report every change (no notification service, a
// network file system, too many watches), tokens are never current and
// callers read again every time: slower, never stale.

// maxWatches bounds the watches one Dir holds; past it the least
// recently used are released (their tokens stop being current).
const maxWatches = 8192

// Token tells whether what was read at a name may have changed since.
// The nil Token is never current.
type Token struct {
	w *watcher
	// up is the Token this one extends (see then), nil for none: the
	// Tokens of a deep chain of folders share what is above them, so
	// each costs memory for its own paths only, not for its depth.
	up    *Token
	nodes []*watchNode
	gens  []uint64
	lost  uint64
}

// Current reports whether no change has been reported since the Token
// was taken. It is exact: a change the system has queued but nobody has
// read yet already counts.
func (t *Token) Current() bool {
	if t == nil {
		return false
	}
	w := t.w
	e := w.epoch.Load()
	if e&1 != 0 || w.lost.Load() != t.lost || w.sys.pending() {
		return false
	}
	for s := t; s != nil; s = s.up {
		for i, n := range s.nodes {
			if n.gen.Load() != s.gens[i] {
				return false
			}
		}
	}
	return w.epoch.Load() == e // no events were applied meanwhile
}

// watchNode is one watched file or folder, by its path without links.
type watchNode struct {
	gen  atomic.Uint64 // moves on every event, and when released
	path string
	wd   int
	elem *list.Element // in watcher.lru
}

// watcher maps the system's watches to nodes. The system part (sys) is
// per OS.
type watcher struct {
	sys sysWatcher
	// epoch is odd while events are being applied, so Current can tell
	// that it raced with them.
	epoch atomic.Uint64
	// lost moves when events were lost: every token is then stale.
	lost atomic.Uint64

	mu     sync.Mutex
	byPath map[string]*watchNode
	byWD   map[int]*watchNode
	lru    *list.List // of *watchNode, most recently used first
	closed bool
}

// sysWatcher is what an OS offers: add a watch on a path (absolute, OS
// form) and whether events are queued unread. It calls back through
// watcher.changed.
type sysWatcher interface {
	add(path string, folder bool) (wd int, err error)
	remove(wd int)
	pending() bool
	close()
}

func newWatcherFor(root string) *watcher {
	w := &watcher{byPath: map[string]*watchNode{}, byWD: map[int]*watchNode{}, lru: list.New()}
	sys, err := startSysWatcher(root, w)
	if err != nil {
		return nil
	}
	w.sys = sys
	return w
}

// token watches the given paths (relative to the root, without links;
// folders flags which are folders) and returns a Token over them, or nil
// if one cannot be watched.
func (w *watcher) token(paths []string, folders []bool) *Token {
	if w == nil {
		return nil
	}
	t := &Token{w: w, nodes: make([]*watchNode, 0, len(paths)), gens: make([]uint64, 0, len(paths))}
	t.lost = w.lost.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	for i, p := range paths {
		n := w.nodeLocked(p, folders[i])
		if n == nil {
			return nil
		}
		t.nodes = append(t.nodes, n)
		t.gens = append(t.gens, n.gen.Load())
	}
	return t
}

// nodeLocked finds or adds the watch of path.
func (w *watcher) nodeLocked(path string, folder bool) *watchNode {
	if n := w.byPath[path]; n != nil {
		w.lru.MoveToFront(n.elem)
		return n
	}
	for w.lru.Len() >= maxWatches {
		w.releaseLocked(w.lru.Back().Value.(*watchNode))
	}
	wd, err := w.sys.add(path, folder)
	if err != nil {
		return nil
	}
	if old := w.byWD[wd]; old != nil {
		// The same file by another path (a hard link): one watch, so
		// the paths share the node's generation through the watch.
		w.forgetLocked(old)
	}
	n := &watchNode{path: path, wd: wd}
	n.elem = w.lru.PushFront(n)
	w.byPath[path] = n
	w.byWD[wd] = n
	return n
}

// releaseLocked removes the watch of n; its tokens are no longer current.
func (w *watcher) releaseLocked(n *watchNode) {
	w.forgetLocked(n)
	w.sys.remove(n.wd)
}

// forgetLocked drops n from the maps without touching the system watch.
func (w *watcher) forgetLocked(n *watchNode) {
	n.gen.Add(1)
	if w.byPath[n.path] == n {
		delete(w.byPath, n.path)
	}
	if w.byWD[n.wd] == n {
		delete(w.byWD, n.wd)
	}
	w.lru.Remove(n.elem)
}

// begin and end bracket the applying of a batch of events.
func (w *watcher) begin() { w.epoch.Add(1) }
func (w *watcher) end()   { w.epoch.Add(1) }

// changed applies one event: watch wd saw a change; gone says the watch
// no longer follows that path (the file was deleted or moved), so the
// next token watches the path afresh. wd < 0 means events were lost.
func (w *watcher) changed(wd int, gone bool) {
	if wd < 0 {
		w.lost.Add(1)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.byWD[wd]
	if n == nil {
		return
	}
	n.gen.Add(1)
	if gone {
		w.forgetLocked(n)
	}
}

// broken makes every token stale for good: the service failed.
func (w *watcher) broken() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.lost.Add(1)
}

func (w *watcher) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.lost.Add(1)
	w.sys.close()
}
