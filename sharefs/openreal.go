package sharefs

import (
	"io/fs"
	"os"
)

// openReal opens real, a path without links as resolve returns it (made
// of names the policy approved), if it still leads to a folder (folder)
// or a regular file through no link: each element is looked up in the
// folder held open before it (see find), so nothing swapped in on the way
// is followed, and an element that is now a link or no longer what it was
// a moment ago fails. Re-walking the path by name instead would follow a
// folder swapped for a link to a hidden one.
func (d *Dir) openReal(real string, folder bool) (f *os.File, info fs.FileInfo, err error) {
	err = fs.ErrNotExist
	d.find(real, nil, func(s spot) (bool, func()) {
		if s.real != real || s.info.IsDir() != folder || !(folder || s.info.Mode().IsRegular()) {
			return false, nil
		}
		file, now, ferr := openSpot(d.root, s)
		if ferr != nil {
			return false, nil
		}
		f, info, err = file, now, nil
		return true, func() { file.Close(); f, info, err = nil, nil, fs.ErrNotExist }
	})
	return f, info, err
}

// openSpot opens what a resolution found, from the folder it was found
// in (root for the root itself), if it is still what was looked at.
func openSpot(root *os.Root, s spot) (*os.File, fs.FileInfo, error) {
	var f *os.File
	var err error
	if s.parent == nil {
		f, err = root.Open(".")
	} else {
		f, err = openRead(s.parent, s.name)
	}
	if err != nil {
		return nil, nil, fs.ErrNotExist
	}
	info, err := f.Stat()
	if err != nil || !os.SameFile(s.info, info) {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}

// enterFolder opens the folder elem of r, if it is one and not a link.
// before is what elem was a moment ago, or nil to look now.
func enterFolder(r *os.Root, elem string, before fs.FileInfo) (*os.Root, error) {
	if before == nil {
		var err error
		if before, err = r.Lstat(elem); err != nil {
			return nil, fs.ErrNotExist
		}
	}
	if !before.IsDir() {
		return nil, fs.ErrNotExist
	}
	sub, err := r.OpenRoot(elem)
	if err != nil {
		return nil, fs.ErrNotExist
	}
	// OpenRoot follows a link swapped in since: it must be the same folder.
	if now, err := sub.Stat("."); err != nil || !os.SameFile(before, now) {
		sub.Close()
		return nil, fs.ErrNotExist
	}
	return sub, nil
}
