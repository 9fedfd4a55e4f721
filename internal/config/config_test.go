package config

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CONFIG_HOME is the configuration folder on Linux")
	}
	base := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", base)
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(base, "share") {
		t.Errorf("Dir() = %q, want %q", dir, filepath.Join(base, "share"))
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() || info.Mode().Perm() != 0o700 {
		t.Errorf("the folder: %v, %v", info, err)
	}
}
