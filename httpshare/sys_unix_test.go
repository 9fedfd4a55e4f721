//go:build unix

package httpshare

import (
	"syscall"
	"testing"
)

// freeBytes reports the space left to unprivileged users where dir lives.
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize) // field types differ per system
}
