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
	"strings"
	"syscall"
	"time"
)

// Entry describes one visible file or folder.
type Entry struct {
	Name    string    // base name; "" for the shared folder itself
	Size    int64     // bytes; -1 when unknown; 0 for folders
	ModTime time.Time // last modification
	IsDir   bool
	// Inode and Dev identify the underlying file, for validators such as
	// HTTP ETags. Zero when the view does not know them.
	Inode, Dev uint64
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
	// files, each group in natural order.
	List(name string) ([]Entry, error)
	// Open opens a regular file for reading.
	Open(name string) (File, error)
}

// Options selects the policy of a Dir.
type Options struct {
	// Hidden also shows names that begin with a dot.
	Hidden bool
}

// Dir is the View of a folder on disk.
type Dir struct {
	root   *os.Root
	hidden bool
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
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root, hidden: opts.Hidden}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// Path is the folder's path as given to New.
func (d *Dir) Path() string { return d.root.Name() }

// Stat implements View.
func (d *Dir) Stat(name string) (Entry, error) {
	rel, err := d.clean(name)
	if err != nil {
		return Entry{}, err
	}
	info, err := d.root.Stat(rel)
	if err != nil || !visibleMode(info.Mode()) {
		return Entry{}, notExist(name)
	}
	e := entryOf(info)
	if rel == "." {
		e.Name = ""
	}
	return e, nil
}

// List implements View.
func (d *Dir) List(name string) ([]Entry, error) {
	rel, err := d.clean(name)
	if err != nil {
		return nil, err
	}
	f, err := d.root.Open(rel)
	if err != nil {
		return nil, notExist(name)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.IsDir() {
		return nil, notExist(name)
	}
	dirents, err := f.ReadDir(-1)
	if err != nil && len(dirents) == 0 {
		return nil, fmt.Errorf("list %q: %w", name, err)
	}
	entries := make([]Entry, 0, len(dirents))
	for _, de := range dirents {
		if e, ok := d.entryIn(rel, de); ok {
			entries = append(entries, e)
		}
	}
	Sort(entries)
	return entries, nil
}

// entryIn describes one directory entry of folder rel, or reports false if
// the policy hides it.
func (d *Dir) entryIn(rel string, de fs.DirEntry) (Entry, bool) {
	if !d.visibleName(de.Name()) {
		return Entry{}, false
	}
	var info fs.FileInfo
	var err error
	if de.Type()&fs.ModeSymlink != 0 {
		// Stat through the root so links leading outside are dropped.
		info, err = d.root.Stat(rel + "/" + de.Name())
	} else {
		info, err = de.Info()
	}
	if err != nil || !visibleMode(info.Mode()) {
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
	// O_NONBLOCK so that a FIFO swapped in after a check cannot hang us.
	f, err := d.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, notExist(name)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
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
	var parts []string
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
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.Inode, e.Dev = st.Ino, uint64(st.Dev)
	}
	return e
}

func notExist(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
