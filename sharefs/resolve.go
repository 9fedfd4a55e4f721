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
// name: a visible link to ".env" must not serve it. When looked is not
// nil, it is told the folders it looked in.
func (d *Dir) resolve(rel string, looked *lookedIn) (info fs.FileInfo, real string, ok bool) {
	ok = d.find(rel, looked, func(s spot) (bool, func()) {
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
func (d *Dir) find(rel string, looked *lookedIn, use func(spot) (ok bool, undo func())) bool {
	ok, current, undo := d.findFrom(rel, looked, use, true)
	if current {
		return ok
	}
	if undo != nil {
		undo()
	}
	if looked != nil {
		*looked = lookedIn{onPath: looked.onPath}
	}
	ok, _, _ = d.findFrom(rel, looked, use, false)
	return ok
}

// lookedIn is what one resolution looked in, for a caller that asks.
type lookedIn struct {
	// kept is the Token of the kept folder the resolution started from,
	// over the folders above it (nil if it started from the root), and
	// paths the folders looked in after those.
	kept  *Token
	paths []string
	// With onPath set, folders gets, for each folder on the way of the
	// name asked for, where its name led, leaving out any that lies in
	// the next one (so a name without links gives one path, its own).
	onPath  bool
	folders []string
}

// findFrom is one try of find, from a kept folder when kept is set. It
// reports whether that folder (if any) was where it was kept throughout,
// and keeps the folders it opened for the next requests.
func (d *Dir) findFrom(rel string, looked *lookedIn, use func(spot) (bool, func()), kept bool) (ok, current bool, undo func()) {
	w := &walkState{d: d, held: []*os.Root{d.root}, looked: looked}
	w.asked, w.prefixes = split(rel)
	defer w.close()
	var tok *Token
	if kept {
		tok = w.startKept()
	}
	if looked != nil && w.kept != nil {
		looked.kept = w.kept.tok // the folders looked in to reach the kept one
	}
	s, ok := w.resolve()
	if ok {
		ok, undo = use(s)
	}
	// A kept folder's Token, current after use, was current during it.
	if w.kept != nil && !w.kept.tok.Current() {
		d.held.drop(w.kept)
		return ok, false, undo
	}
	if tok != nil {
		w.keep(tok)
	}
	return ok, true, undo
}

// split breaks rel into its elements and the paths of its first k
// elements for every k ("." for none): slices of rel, made in one pass.
func split(rel string) (parts, prefixes []string) {
	if rel == "." {
		return nil, []string{"."}
	}
	parts = strings.Split(rel, "/")
	prefixes = make([]string, 1, len(parts)+1)
	prefixes[0] = "."
	end := -1
	for _, p := range parts {
		end += 1 + len(p)
		prefixes = append(prefixes, rel[:end])
	}
	return parts, prefixes
}

// walkState is the folders one resolution holds open.
//
// A path without links at depth d is resolved in O(d), so that listing
// every folder of a deep chain, as a walk does, is not O(d^3): while the
// path without links is a prefix of the name asked for (same), its path
// strings are cut from that name; only past a link or ".." are they
// joined anew.
type walkState struct {
	d        *Dir
	asked    []string // the elements of the name asked for
	prefixes []string // prefixes[k] is the path of asked[:k]
	real     []string // the path without links so far
	// same counts the elements of real equal to the first of asked.
	same int
	// looked is told what the resolution looked in (nil: nobody asks);
	// low is the shortest real has been since its last onPath entry,
	// lastLen that entry's length (see lookedIn.folders).
	looked       *lookedIn
	low, lastLen int
	// held[i] is the folder real[:from+i]; held[0] is the root or a kept
	// folder (kept), not the walk's to close.
	held []*os.Root
	from int
	kept *heldDir
	// lastInfo describes real's last element, when known.
	lastInfo fs.FileInfo
}

// startKept starts the walk at the deepest kept folder on the way of
// the name asked for, and returns a Token for keeping the folders the
// walk will open below it (nil if there are none, or no watcher).
func (w *walkState) startKept() *Token {
	n := len(w.asked)
	if n < 2 {
		return nil
	}
	watch := w.d.watcher()
	if watch == nil {
		return nil
	}
	for k := n - 1; k >= 1; k-- {
		if h := w.d.held.get(w.prefixes[k]); h != nil {
			w.kept, w.held[0], w.from = h, h.root, k
			w.real = append(w.real, w.asked[:k]...)
			w.same = k
			break
		}
	}
	if w.from == n-1 {
		return nil // the last folder is kept: nothing to add
	}
	// The folders above each one that may be kept, "." first: a change to
	// any of them may put another folder (or a link) at its name. Those
	// above the kept folder are its Token's already.
	above := w.prefixes[w.from : n-1]
	tok := watch.token(above, slices.Repeat([]bool{true}, len(above)))
	if w.kept != nil {
		tok = w.kept.tok.then(tok)
	}
	return tok
}

// resolve walks the name asked for from the first folder held (see
// Dir.resolve).
func (w *walkState) resolve() (spot, bool) {
	todo := w.asked[w.from:]
	asked := len(todo) // todo ends with the asked elements not yet taken
	w.low, w.lastLen = w.from, w.from
	if w.looked != nil && w.looked.onPath {
		w.looked.folders = append(w.looked.folders, w.path(w.from))
	}
	stale := true // lastInfo does not describe what real leads to
	links := 0
	for len(todo) > 0 {
		elem := todo[0]
		if len(todo) == asked {
			asked--
		}
		todo = todo[1:]
		ok, link := w.step(elem)
		switch {
		case !ok:
			return spot{}, false
		case link:
			links++
			if links > maxLinks {
				return spot{}, false
			}
			target, err := w.held[len(w.held)-1].Readlink(elem)
			if err != nil || strings.HasPrefix(target, "/") {
				return spot{}, false
			}
			todo = append(strings.Split(target, "/"), todo...)
			stale = true
		case elem != "" && elem != ".":
			stale = elem == ".."
		}
		if len(todo) == asked {
			w.onPath()
		}
	}
	return w.end(stale)
}

// step takes one element: it reports false if the walk fails there, and
// link if elem is a symlink (looked up in the last folder held).
func (w *walkState) step(elem string) (ok, link bool) {
	switch {
	case elem == "" || elem == ".":
		return true, false
	case elem == "..":
		if len(w.real) == 0 {
			return false, false
		}
		w.real, w.lastInfo = w.real[:len(w.real)-1], nil
		w.same, w.low = min(w.same, len(w.real)), min(w.low, len(w.real))
		return true, false
	case !w.d.visibleName(elem):
		return false, false
	}
	dir, ok := w.enter()
	if !ok {
		return false, false
	}
	if w.looked != nil {
		w.looked.add(w.path(len(w.real)))
	}
	w.d.lookups.Add(1)
	info, err := dir.Lstat(elem)
	if err != nil {
		return false, false
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return true, true
	}
	if w.same == len(w.real) && w.same < len(w.asked) && w.asked[w.same] == elem {
		w.same++
	}
	w.real, w.lastInfo = append(w.real, elem), info
	return true, false
}

// path is the path of real's first k elements.
func (w *walkState) path(k int) string {
	if k <= w.same {
		return w.prefixes[k]
	}
	return realPath(w.real[:k])
}

// onPath notes, when asked, where the name asked for led so far (a
// folder on its way, or the name itself at the end).
func (w *walkState) onPath() {
	if w.looked == nil || !w.looked.onPath {
		return
	}
	k := len(w.real)
	f := &w.looked.folders
	if w.low >= w.lastLen {
		// real kept its first lastLen elements since the last entry,
		// which is thus a folder above this one (or this one).
		(*f)[len(*f)-1] = w.path(k)
	} else {
		*f = append(*f, w.path(k))
	}
	w.low, w.lastLen = k, k
}

// add notes folder p looked in, once in a row.
func (l *lookedIn) add(p string) {
	if n := len(l.paths); n == 0 || l.paths[n-1] != p {
		l.paths = append(l.paths, p)
	}
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
	return spot{info: info, real: w.path(len(w.real)), parent: dir, name: name}, true
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
		w.d.lookups.Add(1)
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

// keep hands the folders the walk opened on the way of the name asked
// for (not a link's target) to the Dir's kept folders, under tok (taken
// before they were opened, over the folders above each). Only the
// deepest maxHeldDirs can stay: the others are not offered.
func (w *walkState) keep(tok *Token) {
	for i := max(1, len(w.held)-maxHeldDirs); i < len(w.held); i++ {
		k := w.from + i
		if k > tok.n || k > w.same {
			return
		}
		if w.d.held.put(w.prefixes[k], w.held[i], tok.prefix(k)) {
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

// then is the Token over the paths of t and then those of u, which
// extends no other: current while both are (nil if either is nil). It
// shares t, as lost only moves on, t's tells for both.
func (t *Token) then(u *Token) *Token {
	if t == nil || u == nil || t.w != u.w {
		return nil
	}
	if len(u.nodes) == 0 {
		return t
	}
	return &Token{w: t.w, up: t, n: t.n + len(u.nodes), nodes: u.nodes, gens: u.gens, lost: t.lost}
}

// prefix is the Token over the first k paths of t.
func (t *Token) prefix(k int) *Token {
	for t.up != nil && k <= t.up.n {
		t = t.up
	}
	if k == t.n {
		return t
	}
	own := k - (t.n - len(t.nodes))
	return &Token{w: t.w, up: t.up, n: k, nodes: t.nodes[:own:own], gens: t.gens[:own:own], lost: t.lost}
}

// watcher starts the Dir's notification service on first use; nil where
// changes cannot be watched.
func (d *Dir) watcher() *watcher {
	d.watchOnce.Do(func() { d.watch = newWatcherFor(d.abs) })
	return d.watch
}
