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
	// tok is current while no folder the resolution looked in (nor one
	// looked in to reach the kept folder it started from) has changed;
	// nil if they are not all watched.
	tok *Token
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
	w := &walkState{d: d, held: []*os.Root{d.root}, looked: looked, watch: d.watcher()}
	w.asked, w.prefixes = split(rel)
	defer w.close()
	if kept {
		w.startKept()
	}
	s, ok := w.resolve()
	if looked != nil && w.watch != nil && !w.unwatched {
		looked.tok = w.tok
	}
	if ok {
		ok, undo = use(s)
	}
	// A kept folder's Token, current after use, was current during it.
	if w.kept != nil && !w.kept.tok.Current() {
		d.held.drop(w.kept)
		return ok, false, undo
	}
	w.keep()
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
	// held[i] is the folder real[:from+i], nil once let go (see enter);
	// held[0] is the root or a kept folder (kept), not the walk's to
	// close. The walk goes on from the asked element start.
	held  []*os.Root
	from  int
	start int
	kept  *heldDir
	// tok is over every folder looked in so far, each watched before it
	// was looked in (nil before the first, or when there is no watch);
	// guarded is the last one added, and unwatched tells that one could
	// not be watched. marks are the folders of the name asked for that
	// the walk may keep (see keep).
	watch     *watcher
	tok       *Token
	guarded   string
	unwatched bool
	marks     []mark
	// lastInfo describes real's last element, when known.
	lastInfo fs.FileInfo
}

// startKept starts the walk at the deepest kept folder on the way of
// the name asked for.
func (w *walkState) startKept() {
	if w.watch == nil {
		return
	}
	for k := len(w.asked) - 1; k >= 1; k-- {
		if h := w.d.held.get(w.prefixes[k]); h != nil {
			w.kept, w.held[0], w.from, w.start = h, h.root, len(h.real), k
			w.real = append(w.real, h.real...)
			w.same = min(h.same, k)
			w.tok = h.tok
			return
		}
	}
}

// guard adds folder p, about to be looked in, to the walk's Token: a
// change to it after this is seen (see keep).
func (w *walkState) guard(p string) {
	if w.watch == nil || w.unwatched || (w.tok != nil && w.guarded == p) {
		return
	}
	t := w.watch.token([]string{p}, []bool{true})
	if t == nil {
		w.tok, w.unwatched = nil, true
		return
	}
	if w.tok != nil {
		t = w.tok.then(t)
	}
	w.tok, w.guarded = t, p
}

// resolve walks the name asked for from the first folder held (see
// Dir.resolve).
func (w *walkState) resolve() (spot, bool) {
	todo := w.asked[w.start:]
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
			w.mark(len(w.asked) - asked)
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
		for len(w.marks) > 0 && w.marks[len(w.marks)-1].depth > len(w.real) {
			w.marks = w.marks[:len(w.marks)-1] // no longer on the way
		}
		return true, false
	case !w.d.visibleName(elem):
		return false, false
	}
	dir, ok := w.enter()
	if !ok {
		return false, false
	}
	w.guard(w.path(len(w.real)))
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

// mark is where the first k elements of the name asked for led: the
// folder real[:depth], found with what tok covers.
type mark struct {
	k, depth, same int
	tok            *Token
}

// mark notes that the first k elements of the name asked for are
// resolved, for keep.
func (w *walkState) mark(k int) {
	if w.tok != nil && k < len(w.asked) {
		w.marks = append(w.marks, mark{k: k, depth: len(w.real), same: min(w.same, k), tok: w.tok})
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
// deepest held one, and returns the last. Only the deepest maxHeldDirs
// stay open (those keep may offer), so a name 2000 deep does not hold
// 2000 descriptors; a ".." above the first folder still held starts
// again from the root.
func (w *walkState) enter() (*os.Root, bool) {
	for w.depth() > len(w.real) {
		top := len(w.held) - 1
		if top == 0 || w.held[top-1] == nil {
			w.restart()
			break
		}
		w.held[top].Close()
		w.held = w.held[:top]
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
		if i := len(w.held) - 1 - maxHeldDirs; i >= 1 && w.held[i] != nil {
			w.held[i].Close()
			w.held[i] = nil
		}
	}
	return w.held[len(w.held)-1], true
}

// restart closes the folders the walk opened and holds the root alone.
func (w *walkState) restart() {
	for _, r := range w.held[1:] {
		if r != nil {
			r.Close()
		}
	}
	w.held, w.from = append(w.held[:0], w.d.root), 0
}

// depth is the depth of the deepest folder held.
func (w *walkState) depth() int { return w.from + len(w.held) - 1 }

// keep hands the folders the walk opened on the way of the name asked
// for to the Dir's kept folders, each by the name it was asked by and
// with the Token over every folder looked in to find it, each watched
// before it was looked in: while that Token is current, the name still
// leads to the folder, links or not. Only the deepest maxHeldDirs can
// stay: the others are not offered.
func (w *walkState) keep() {
	if w.tok == nil {
		return
	}
	for _, m := range w.marks[max(0, len(w.marks)-maxHeldDirs):] {
		i := m.depth - w.from
		if i < 1 || i >= len(w.held) || w.held[i] == nil {
			continue
		}
		h := &heldDir{name: w.prefixes[m.k], real: slices.Clone(w.real[:m.depth]), same: m.same, root: w.held[i], tok: m.tok}
		if w.d.held.put(h) {
			w.held[i] = nil
		}
	}
}

// close closes what the walk opened and did not keep.
func (w *walkState) close() {
	w.restart()
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
	return &Token{w: t.w, up: t, nodes: u.nodes, gens: u.gens, lost: t.lost}
}

// watcher starts the Dir's notification service on first use; nil where
// changes cannot be watched.
func (d *Dir) watcher() *watcher {
	d.watchOnce.Do(func() { d.watch = newWatcherFor(d.abs) })
	return d.watch
}
