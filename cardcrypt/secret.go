package cardcrypt

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// secretFile is the name of the download secret in the configuration folder.
const secretFile = "download-secret"

// secretSize is the size of the download secret.
const secretSize = 32

// LoadSecret returns the download secret kept in dir, making it (mode
// 0600) on first use. Every random choice in an encrypted download
// derives from it, so whoever can read it can read the shared files:
// deleting it makes all downloads new messages.
func LoadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, secretFile)
	secret, err := readSecret(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := makeSecret(dir, path); err != nil {
			return nil, err
		}
		secret, err = readSecret(path)
	}
	return secret, err
}

func readSecret(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the download secret %s can be read by others: chmod 600 it, or delete it to make a new one", path)
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the download secret: %w", err)
	}
	if len(secret) != secretSize {
		return nil, fmt.Errorf("the download secret %s is %d bytes, not %d: delete it to make a new one", path, len(secret), secretSize)
	}
	return secret, nil
}

// makeSecret writes a new secret to a temporary file and links it into
// place, so that two shares starting at once agree on one secret and
// neither reads a half-written file.
func makeSecret(dir, path string) error {
	secret := make([]byte, secretSize)
	rand.Read(secret)
	tmp, err := os.CreateTemp(dir, secretFile+".*")
	if err != nil {
		return fmt.Errorf("make the download secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(secret)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make the download secret: %w", err)
	}
	return nil
}
