// Package testutil holds the few helpers the test suites share.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips the test with the reason, except in CI, where a missing
// prerequisite is a failure.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must not skip: %s", reason)
	}
	t.Skip(reason)
}

// NeedTool returns the path of an external program the test needs, or
// skips (fails in CI) when it is not installed.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, name+" is not installed (see the README's install line)")
	}
	return p
}

// SparseFile makes the file path of size bytes that takes no room on disk
// (zeros the file system does not store): minutes of hashing or
// encrypting for a test that writes nothing.
func SparseFile(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}
