package main

import (
	"errors"
	"log/slog"

	"github.com/urfave/cli/v2"

	"example.com/share/sharefs"
)

// Placeholder until ftpshare lands.
func newFTPService(c *cli.Context, view sharefs.View, logger *slog.Logger) (service, error) {
	return service{}, errors.New("FTP is not built yet; use --no-ftp")
}
