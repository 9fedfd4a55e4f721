package sharefs

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Version identifies one version of a file's content: two entries with
// equal versions hold the same bytes. It is comparable, so it keys
// caches directly, and String makes validators (ETags) from it. The zero
// Version means "unknown": nothing may be cached or validated by it.
type Version struct {
	id    fileID // which file (per OS: device and inode on Unix)
	size  int64
	mtime int64  // modification time, Unix nanoseconds
	tag   uint64 // set by views that transform the content
}

// versionOf reads the version of the file info describes.
func versionOf(info fs.FileInfo) Version {
	return Version{id: idOf(info), size: info.Size(), mtime: info.ModTime().UnixNano()}
}

// IsZero reports whether v is unknown.
func (v Version) IsZero() bool { return v == Version{} }

// Derive returns the version of a transformed representation of v's
// content; tag names the transform (say, a hash of an encryption's
// recipients), so each transform of each version differs.
func (v Version) Derive(tag uint64) Version {
	if v.IsZero() {
		return v
	}
	v.tag = v.tag*0x100000001b3 ^ tag ^ 1 // never 0, so a derived version differs from v
	return v
}

// String is a short token for validators and logs, the same for equal
// versions and, in practice, different for different ones.
func (v Version) String() string {
	if v.IsZero() {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x", v.id.hash(), v.size, v.mtime, v.tag)
}

// Describe describes a file of a Dir that a server holds open, so that
// what it sends is labelled with the version it really is.
func Describe(f *os.File) (Entry, error) {
	info, err := f.Stat()
	if err != nil {
		return Entry{}, fmt.Errorf("stat %q: %w", f.Name(), err)
	}
	e := entryOf(info)
	e.Name = path.Base(filepath.ToSlash(f.Name()))
	return e, nil
}
