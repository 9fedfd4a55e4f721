package httpshare

import (
	"testing"

	"golang.org/x/sys/windows"
)

// freeBytes reports the space left to this user where dir lives.
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	name, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		t.Fatal(err)
	}
	var free uint64
	if err := windows.GetDiskFreeSpaceEx(name, &free, nil, nil); err != nil {
		t.Fatal(err)
	}
	return free
}
