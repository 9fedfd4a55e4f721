//go:build unix

package sharefs

import "syscall"

// mkfifo makes the named pipe of the test fixture.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
