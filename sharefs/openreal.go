package sharefs

import (
	"io/fs"
	"os"
)

// openFound opens what rel leads to, if want accepts what was looked
// at, from the folder it was found in (see find): what is opened is what
// was checked.
func (d *Dir) openFound(rel string, looked *lookedIn, want func(fs.FileInfo) bool) (f *os.File, info fs.FileInfo, ok bool) {
	ok = d.find(rel, looked, func(s spot) (bool, func()) {
		if !want(s.info) {
			return false, nil
		}
		file, now, err := openSpot(d.root, s)
		if err != nil {
			return false, nil
		}
		f, info = file, now
		return true, func() { file.Close(); f, info = nil, nil }
	})
	return f, info, ok
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
