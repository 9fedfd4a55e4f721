// Package config is the one place that names share's folder in the
// user's configuration folder, where what share keeps between runs
// lives (the download secret, the TLS certificate).
package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns share's configuration folder, os.UserConfigDir()/share,
// creating it (mode 0700) if needed.
func Dir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration folder: %w (set XDG_CONFIG_HOME or HOME)", err)
	}
	dir := filepath.Join(base, "share")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the configuration folder: %w", err)
	}
	return dir, nil
}
