// Package sharefs is the one read-only view of the shared folder that every
// server uses. It decides what may be seen and read: paths are confined to
// the folder with os.Root, dot-files stay hidden unless asked for, symlinks
// are followed only while they stay inside, and only regular files and
// folders exist. Anything else is reported as fs.ErrNotExist, so a client
// cannot tell a refused path from a missing one.
package sharefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Entry describes one visible file or folder.
type Entry struct {
	Name    string    // base name; "" for the shared folder itself
	Size    int64     // bytes; -1 when unknown; 0 for folders
	ModTime time.Time // last modification
	IsDir   bool
	// Version identifies this version of the content: validators (HTTP
	// ETags) and every cache key are made from it. Zero when unknown.
	Version Version
}

// File is an open file of a View. Implementations that can seek also
// implement io.Seeker; servers offer ranges and resume only then.
type File interface {
	io.ReadCloser
}

// View is a read-only view of a folder tree. Names are slash-separated
// and relative to the root ("" or "/" is the root). Every method returns an
// error matching fs.ErrNotExist for anything the view does not show.
type View interface {
	// Stat describes one entry. It follows symlinks that stay inside.
	Stat(name string) (Entry, error)
	// List returns the visible entries of a folder: folders first, then
	// files, each group in natural order. The slice may be shared with
	// other callers: it must not be modified.
	List(name string) ([]Entry, error)
	// Open opens a regular file for reading.
	Open(name string) (File, error)
	// Watch returns a Token, to be taken before name is read, that
	// stays current while nothing reported a change to name or to the
	// folders its resolution passes through. It may be nil (never
	// current). Views that wrap another forward it.
	Watch(name string) *Token
}

// Options selects the policy of a Dir.
type Options struct {
	// Hidden also shows names that begin with a dot.
	Hidden bool
}

// Dir is the View of a folder on disk.
type Dir struct {
	root   *os.Root
	abs    string // the folder's absolute path, for the notification service
	hidden bool

	watchOnce sync.Once
	watch     *watcher // nil where changes cannot be watched
	lists     listCache
	held      heldDirs
	// lookups counts the elements looked up and folders entered (each a
	// system call or two), so tests can tell what a resolution costs.
	lookups atomic.Int64
}

// ErrNotDir is returned by New when the path is not a folder.
var ErrNotDir = errors.New("not a folder")

// New opens the folder at path as a View.
func New(path string, opts Options) (*Dir, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, &fs.PathError{Op: "share", Path: path, Err: ErrNotDir}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("share %q: %w", path, err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root, abs: abs, hidden: opts.Hidden}, nil
}

// Close releases the folder.
func (d *Dir) Close() error {
	d.watchOnce.Do(func() {})
	d.watch.close()
	d.held.close()
	return d.root.Close()
}

// Path is the folder's path as given to New.
func (d *Dir) Path() string { return d.root.Name() }

// Stat implements View.
func (d *Dir) Stat(name string) (Entry, error) {
	rel, err := d.clean(name)
	if err != nil {
		return Entry{}, err
	}
	info, _, ok := d.resolve(rel, nil)
	if !ok || !visibleMode(info.Mode()) {
		return Entry{}, notExist(name)
	}
	e := entryOf(info)
	e.Name = path.Base(rel) // the name asked for, not a link's target
	if rel == "." {
		e.Name = ""
	}
	return e, nil
}

// List implements View. Listings are kept while the folder is watched
// and unchanged (see listCache).
func (d *Dir) List(name string) ([]Entry, error) {
	rel, err := d.clean(name)
	if err != nil {
		return nil, err
	}
	version := func() Version {
		info, _, ok := d.resolve(rel, nil)
		if !ok {
			return Version{}
		}
		return versionOf(info)
	}
	if entries, ok := d.lists.get(rel, version); ok {
		return entries, nil
	}
	return d.lists.load(rel, func() ([]Entry, *Token, Version, error) {
		tok := d.Watch(name)
		entries, v, err := d.list(name, rel)
		return entries, tok, v, err
	})
}

// list reads folder rel from the disk, and tells its version.
func (d *Dir) list(name, rel string) ([]Entry, Version, error) {
	// One resolution finds the folder and the folders on its way, and
	// what is read is the folder it approved, not one swapped in since.
	looked := lookedIn{onPath: true}
	f, info, ok := d.openFound(rel, &looked, fs.FileInfo.IsDir)
	if !ok {
		return nil, Version{}, notExist(name)
	}
	defer f.Close()
	onPath := looked.folders
	real := onPath[len(onPath)-1]
	dirents, err := f.ReadDir(-1)
	if err != nil && len(dirents) == 0 {
		return nil, Version{}, fmt.Errorf("list %q: %w", name, err)
	}
	entries := make([]Entry, 0, len(dirents))
	for _, de := range dirents {
		if e, ok := d.entryIn(real, onPath, de); ok {
			entries = append(entries, e)
		}
	}
	Sort(entries)
	return slices.Clip(entries), versionOf(info), nil
}

// entryIn describes one directory entry of folder real (a resolved path,
// reached through the folders onPath: see lookedIn.folders), or reports
// false if the policy hides it.
func (d *Dir) entryIn(real string, onPath []string, de fs.DirEntry) (Entry, bool) {
	if !d.visibleName(de.Name()) {
		return Entry{}, false
	}
	var info fs.FileInfo
	ok := true
	if de.Type()&fs.ModeSymlink != 0 {
		// Follow the link under the policy: links leading outside or to
		// hidden names are dropped, and so are links back to a folder on
		// the way here or above one, which would make endless paths for
		// crawlers and archives (every listing is loop-free).
		var target string
		info, target, ok = d.resolve(path.Join(real, de.Name()), nil)
		ok = ok && !(info.IsDir() && slices.ContainsFunc(onPath, func(p string) bool { return within(p, target) }))
	} else {
		var err error
		info, err = de.Info()
		ok = err == nil
	}
	if !ok || !visibleMode(info.Mode()) {
		return Entry{}, false
	}
	e := entryOf(info)
	e.Name = de.Name()
	return e, true
}

// Open implements View. The result is an *os.File, so servers can seek
// and use the kernel's zero-copy path.
func (d *Dir) Open(name string) (File, error) {
	return d.OpenFile(name)
}

// OpenFile is Open with its concrete type.
func (d *Dir) OpenFile(name string) (*os.File, error) {
	rel, err := d.clean(name)
	if err != nil {
		return nil, err
	}
	// Check the type before opening: opening a device can have effects.
	f, _, ok := d.openFound(rel, nil, func(i fs.FileInfo) bool { return i.Mode().IsRegular() })
	if !ok {
		return nil, notExist(name)
	}
	return f, nil
}

// clean turns a request name into a path for the root, or fails with
// fs.ErrNotExist if the policy refuses it.
func (d *Dir) clean(name string) (string, error) {
	parts, ok := Split(name)
	if !ok {
		return "", notExist(name)
	}
	for _, p := range parts {
		if !d.visibleName(p) {
			return "", notExist(name)
		}
	}
	if len(parts) == 0 {
		return ".", nil
	}
	return strings.Join(parts, "/"), nil
}

// Split breaks a slash-separated request name into its elements. Empty
// elements are dropped. It reports false for names no view serves: those
// with an element "." or "..", a backslash, a NUL byte, or over 4096 bytes.
func Split(name string) ([]string, bool) {
	if len(name) > 4096 || strings.ContainsAny(name, "\\\x00") {
		return nil, false
	}
	parts := make([]string, 0, strings.Count(name, "/")+1)
	for p := range strings.SplitSeq(name, "/") {
		switch p {
		case "":
			continue
		case ".", "..":
			return nil, false
		}
		parts = append(parts, p)
	}
	return parts, true
}

// within reports whether resolved path a lies in folder b or is b.
func within(a, b string) bool {
	return b == "." || a == b || strings.HasPrefix(a, b+"/")
}

// visibleName applies the hidden-file policy to one element.
func (d *Dir) visibleName(name string) bool {
	if strings.ContainsAny(name, "\\\x00") {
		return false
	}
	return d.hidden || !strings.HasPrefix(name, ".")
}

// visibleMode keeps regular files and folders only: no devices, FIFOs or
// sockets, which could block or leak.
func visibleMode(m fs.FileMode) bool {
	return m.IsRegular() || m.IsDir()
}

func entryOf(info fs.FileInfo) Entry {
	e := Entry{
		Name:    info.Name(),
		Size:    info.Size(),
		ModTime: info.ModTime(),
		IsDir:   info.IsDir(),
	}
	if e.IsDir {
		e.Size = 0
	}
	e.Version = versionOf(info)
	return e
}

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Name is the shared folder's own name ("photos" for "."), which heads
// the page and names archives of the whole share.
func (d *Dir) Name() string { return filepath.Base(d.abs) }
