package httpshare

import (
	"testing"
	"time"

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

// cpuTime is the CPU this process has used so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		t.Fatal(err)
	}
	// Filetime counts 100 ns ticks; Nanoseconds would count from 1601.
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
