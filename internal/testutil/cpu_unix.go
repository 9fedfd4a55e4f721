//go:build unix

package testutil

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime is the CPU this process has used so far, for budget checks.
func CPUTime(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
