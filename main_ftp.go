package main

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"example.com/share/ftpshare"
	"example.com/share/sharefs"
)

// newFTPService listens for FTP and builds the server from the flags.
func newFTPService(c *cli.Context, view sharefs.View, logger *slog.Logger) (service, error) {
	opts := ftpshare.Options{
		PublicHost:  c.String("public-host"),
		IdleTimeout: c.Duration("ftp-idle"),
		Logger:      logger,
	}
	if opts.IdleTimeout <= 0 {
		return service{}, usagef("--ftp-idle must be a positive duration such as 5m, not %v", opts.IdleTimeout)
	}
	if r := c.String("passive-ports"); r != "" {
		low, high, err := ftpshare.ParsePortRange(r)
		if err != nil {
			return service{}, usagef("--passive-ports: %v", err)
		}
		opts.PassiveLow, opts.PassiveHigh = low, high
	}
	srv, err := ftpshare.New(view, opts)
	if err != nil {
		return service{}, err
	}
	ln, err := listen("FTP", "--ftp", c.String("ftp"))
	if err != nil {
		return service{}, err
	}
	return service{"ftp", ln, srv}, nil
}
