package cardcrypt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLoadSecret: made once (0600, 32 bytes), then the same on every
// load, also when many load at once; a secret others can read or of the
// wrong size is refused with the fix in the message.
func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	secrets := make([][]byte, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range secrets {
		wg.Go(func() { secrets[i], errs[i] = LoadSecret(dir) })
	}
	wg.Wait()
	for i := range secrets {
		if errs[i] != nil || !bytes.Equal(secrets[i], secrets[0]) || len(secrets[i]) != secretSize {
			t.Fatalf("load %d: %x, %v; first %x", i, secrets[i], errs[i], secrets[0])
		}
	}
	path := filepath.Join(dir, secretFile)
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", info, err)
	}
	if again, err := LoadSecret(dir); err != nil || !bytes.Equal(again, secrets[0]) {
		t.Fatalf("second start: %x, %v", again, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadSecret(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a secret others can read: %v", err)
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadSecret(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a short secret: %v", err)
	}
	os.Remove(path)
	if fresh, err := LoadSecret(dir); err != nil || bytes.Equal(fresh, secrets[0]) {
		t.Errorf("after deleting it: %x, %v, want a new secret", fresh, err)
	}
}
