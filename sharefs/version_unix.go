//go:build unix

package sharefs

import (
	"io/fs"
	"syscall"
)

// fileID names a file on Unix: its device and inode, so a file replaced
// by another (a rename over it) is a new version even with the same size
// and time.
type fileID struct{ dev, ino uint64 }

func idOf(info fs.FileInfo) fileID {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

func (id fileID) hash() uint64 { return id.dev<<48 ^ id.ino }
