package sharefs

import (
	"io/fs"
	"os"
	"strings"
)

// openReal opens real, a path without links as resolve returns it (made
// of names the policy approved), one element at a time: each is looked
// up in the folder held open before it, so nothing swapped in on the way
// is followed. An element that is now a link, or no longer the folder
// or file it was a moment ago, fails. Re-walking the path by name
// instead would follow a folder swapped for a link to a hidden one.
func (d *Dir) openReal(real string, folder bool) (*os.File, fs.FileInfo, error) {
	parts := strings.Split(real, "/")
	if real == "." {
		parts = nil
	}
	r := d.root
	release := func() {
		if r != d.root {
			r.Close()
		}
	}
	defer func() { release() }()
	for i, elem := range parts {
		if i == len(parts)-1 {
			return openElem(r, elem, folder)
		}
		sub, err := enterFolder(r, elem)
		if err != nil {
			return nil, nil, err
		}
		release()
		r = sub
	}
	// The root itself.
	f, err := r.Open(".")
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.IsDir() || !folder {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}

// enterFolder opens the folder elem of r, if it is one and not a link.
func enterFolder(r *os.Root, elem string) (*os.Root, error) {
	before, err := r.Lstat(elem)
	if err != nil || !before.IsDir() {
		return nil, fs.ErrNotExist
	}
	sub, err := r.OpenRoot(elem)
	if err != nil {
		return nil, fs.ErrNotExist
	}
	if now, err := sub.Stat("."); err != nil || !os.SameFile(before, now) {
		sub.Close()
		return nil, fs.ErrNotExist
	}
	return sub, nil
}

// openElem opens the file or folder elem of r, if it is one and not a
// link, and describes what was opened.
func openElem(r *os.Root, elem string, folder bool) (*os.File, fs.FileInfo, error) {
	before, err := r.Lstat(elem)
	if err != nil || before.IsDir() != folder || !(folder || before.Mode().IsRegular()) {
		return nil, nil, fs.ErrNotExist
	}
	f, err := openRead(r, elem)
	if err != nil {
		return nil, nil, fs.ErrNotExist
	}
	info, err := f.Stat()
	if err != nil || !os.SameFile(before, info) {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}
