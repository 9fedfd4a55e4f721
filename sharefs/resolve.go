package sharefs

import (
	"io/fs"
	"os"
	"slices"
	"strings"
)

// maxLinks bounds the symlinks followed for one name, as the kernel does.
const maxLinks = 40

// spot is where a resolution led: info describes it (never a link), real
// is its path without links ("." for the root), and it is name in folder
// parent (nil for the root itself), held open while the caller uses it.
type spot struct {
	info   fs.FileInfo
	real   string
	parent *os.Root
	name   string
}

// resolve follows rel inside the root one element at a time, symlinks
// included, and returns what it leads to and its path without links ("."
// for the root). It reports false when rel does not exist, leaves the
// root, loops, or, unless hidden files are shown, passes through a hidden
// name: a visible link to ".env" must not serve it. When folders is not
// nil, every folder it looked in is added to it once.
func (d *Dir) resolve(rel string, folders *[]string) (info fs.FileInfo, real string, ok bool) {
	ok = d.find(rel, folders, func(s spot) (bool, func()) {
		info, real = s.info, s.real
		return true, nil
	})
	return info, real, ok
}

// find resolves rel as resolve does and calls use with where it leads
// while the folders on the way are still open, so that what use opens is
// what was checked. Each element is looked up in the folder held open
// before it, so one name costs system calls in proportion to its depth.
// It starts from the deepest folder on the way that the Dir keeps open
// (heldDirs); if that one turns out to have changed since, what use made
// is undone (the undo use returned) and all is done again from the root.
func (d *Dir) find(rel string, folders *[]string, use func(spot) (ok bool, undo func())) bool {
	n := 0
	if folders != nil {
		n = len(*folders)
	}
	ok, current, undo := d.findFrom(rel, folders, use, true)
	if current {
		return ok
	}
	if undo != nil {
		undo()
	}
	if folders != nil {
		*folders = (*folders)[:n]
	}
	ok, _, _ = d.findFrom(rel, folders, use, false)
	return ok
}

// findFrom is one try of find, from a kept folder when kept is set. It
// reports whether that folder (if any) was where it was kept throughout,
// and keeps the folders it opened for the next requests.
func (d *Dir) findFrom(rel string, folders *[]string, use func(spot) (bool, func()), kept bool) (ok, current bool, undo func()) {
	var parts []string
	if rel != "." {
		parts = strings.Split(rel, "/")
	}
	w := &walkState{d: d, held: []*os.Root{d.root}}
	defer w.close()
	var tok *Token
	if kept {
		tok = w.startKept(rel, parts)
	}
	for k := 0; folders != nil && k < w.from; k++ {
		addOnce(folders, realPath(w.real[:k])) // looked in to reach the kept folder
	}
	s, ok := w.resolve(parts, folders)
	if ok {
		ok, undo = use(s)
	}
	// A kept folder's Token, current after use, was current during it.
	if w.kept != nil && !w.kept.tok.Current() {
		d.held.drop(w.kept)
		return ok, false, undo
	}
	if tok != nil {
		w.keep(parts, tok)
	}
	return ok, true, undo
}

// walkState is the folders one resolution holds open.
type walkState struct {
	d    *Dir
	real []string // the path without links so far
	// held[i] is the folder real[:from+i]; held[0] is the root or a kept
	// folder (kept), not the walk's to close.
	held []*os.Root
	from int
	kept *heldDir
	// lastInfo describes real's last element, when known.
	lastInfo fs.FileInfo
}

// startKept starts the walk of rel (split in parts) at the deepest kept
// folder on its way, and returns a Token for keeping the folders the
// walk will open below it (nil if there are none, or no watcher).
func (w *walkState) startKept(rel string, parts []string) *Token {
	if len(parts) < 2 {
		return nil
	}
	watch := w.d.watcher()
	if watch == nil {
		return nil
	}
	// The folders above each one that may be kept, "." first: a change to
	// any of them may put another folder (or a link) at its name.
	above := make([]string, len(parts)-1)
	above[0] = "."
	for k, end := 1, 0; k < len(above); k++ {
		end += len(parts[k-1]) + min(k-1, 1)
		above[k] = rel[:end]
	}
	for k := len(parts) - 1; k >= 1; k-- {
		if h := w.d.held.get(folderOf(rel, parts, k, above)); h != nil {
			w.kept, w.held[0], w.from = h, h.root, k
			w.real = append(w.real, parts[:k]...)
			break
		}
	}
	if w.from == len(parts)-1 {
		return nil // the last folder is kept: nothing to add
	}
	return watch.token(above, slices.Repeat([]bool{true}, len(above)))
}

// folderOf is the path of the first k parts of rel, k >= 1, from the
// prefixes above (see startKept).
func folderOf(rel string, parts []string, k int, above []string) string {
	if k < len(above) {
		return above[k]
	}
	return rel[:len(rel)-len(parts[len(parts)-1])-1]
}

// resolve walks parts from the first folder held (see Dir.resolve).
func (w *walkState) resolve(parts []string, folders *[]string) (spot, bool) {
	todo := parts[w.from:]
	stale := true // lastInfo does not describe what real leads to
	links := 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch {
		case elem == "" || elem == ".":
			continue
		case elem == "..":
			if len(w.real) == 0 {
				return spot{}, false
			}
			w.real, w.lastInfo = w.real[:len(w.real)-1], nil
			stale = true
			continue
		case !w.d.visibleName(elem):
			return spot{}, false
		}
		dir, ok := w.enter()
		if !ok {
			return spot{}, false
		}
		if folders != nil {
			addOnce(folders, realPath(w.real))
		}
		info, err := dir.Lstat(elem)
		if err != nil {
			return spot{}, false
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			w.real, w.lastInfo = append(w.real, elem), info
			stale = false
			continue
		}
		links++
		target, err := dir.Readlink(elem)
		if err != nil || links > maxLinks || strings.HasPrefix(target, "/") {
			return spot{}, false
		}
		todo = append(strings.Split(target, "/"), todo...)
		stale = true
	}
	return w.end(stale)
}

// end describes where the walk ended, looking again if it ended on the
// root or after a "..".
func (w *walkState) end(stale bool) (spot, bool) {
	if len(w.real) == 0 {
		info, err := w.d.root.Lstat(".")
		return spot{info: info, real: "."}, err == nil
	}
	name := w.real[len(w.real)-1]
	info := w.lastInfo
	w.real, w.lastInfo = w.real[:len(w.real)-1], nil
	dir, ok := w.enter()
	w.real = append(w.real, name)
	if !ok {
		return spot{}, false
	}
	if stale {
		var err error
		if info, err = dir.Lstat(name); err != nil || info.Mode()&fs.ModeSymlink != 0 {
			return spot{}, false
		}
	}
	return spot{info: info, real: realPath(w.real), parent: dir, name: name}, true
}

// enter holds the folders of real open, opening those missing from the
// deepest held one, and returns the last. A ".." above the first folder
// held starts again from the root.
func (w *walkState) enter() (*os.Root, bool) {
	for w.depth() > len(w.real) {
		if len(w.held) == 1 {
			w.held[0], w.from = w.d.root, 0
			break
		}
		w.held[len(w.held)-1].Close()
		w.held = w.held[:len(w.held)-1]
	}
	for d := w.depth(); d < len(w.real); d++ {
		var before fs.FileInfo
		if d == len(w.real)-1 {
			before = w.lastInfo
		}
		sub, err := enterFolder(w.held[len(w.held)-1], w.real[d], before)
		if err != nil {
			return nil, false
		}
		w.held = append(w.held, sub)
	}
	return w.held[len(w.held)-1], true
}

// depth is the depth of the deepest folder held.
func (w *walkState) depth() int { return w.from + len(w.held) - 1 }

// keep hands the folders the walk opened on the way of parts (the name
// asked for, not a link's target) to the Dir's kept folders, under tok
// (taken before they were opened, over the folders above each).
func (w *walkState) keep(parts []string, tok *Token) {
	for i := 1; i < len(w.held); i++ {
		k := w.from + i
		if k > len(tok.nodes) || k > len(w.real) || !slices.Equal(w.real[:k], parts[:k]) {
			return
		}
		if w.d.held.put(realPath(w.real[:k]), w.held[i], tok.prefix(k)) {
			w.held[i] = nil
		}
	}
}

// close closes what the walk opened and did not keep.
func (w *walkState) close() {
	for _, r := range w.held[1:] {
		if r != nil {
			r.Close()
		}
	}
	if w.kept != nil {
		w.d.held.release(w.kept)
	}
}

// realPath is the path of the resolved elements ("." for none).
func realPath(elems []string) string {
	if len(elems) == 0 {
		return "."
	}
	return strings.Join(elems, "/")
}

// prefix is the Token over the first k paths of t.
func (t *Token) prefix(k int) *Token {
	return &Token{w: t.w, nodes: t.nodes[:k:k], gens: t.gens[:k:k], lost: t.lost}
}

// watcher starts the Dir's notification service on first use; nil where
// changes cannot be watched.
func (d *Dir) watcher() *watcher {
	d.watchOnce.Do(func() { d.watch = newWatcherFor(d.abs) })
	return d.watch
}
