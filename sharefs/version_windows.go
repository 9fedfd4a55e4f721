//go:build windows

package sharefs

import (
	"io/fs"
	"syscall"
)

// fileID names a file on Windows by its creation time: a file replaced
// by another (a rename over it) is then a new version even with the same
// size and modification time. (The file index would need a handle.)
type fileID struct{ created int64 }

func idOf(info fs.FileInfo) fileID {
	if d, ok := info.Sys().(*syscall.Win32FileAttributeData); ok {
		return fileID{created: d.CreationTime.Nanoseconds()}
	}
	return fileID{}
}

func (id fileID) hash() uint64 { return uint64(id.created) }
