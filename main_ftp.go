package main

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"example.com/share/cardcrypt"
	"example.com/share/ftpshare"
	"example.com/share/internal/transfers"
	"example.com/share/sharefs"
)

// newFTPService listens for FTP and builds the server from the flags.
func newFTPService(c *cli.Context, view sharefs.View, logger *slog.Logger, priv *privacy, sig *cardcrypt.Signer, board *transfers.Board) (service, error) {
	opts := ftpshare.Options{
		PublicHost:  c.String("public-host"),
		IdleTimeout: c.Duration("ftp-idle"),
		Logger:      logger,
		Signer:      ftpSigner(sig),
		Transfers:   board,
	}
	if priv != nil {
		opts.TLS, opts.Secret = priv.tls, priv.secret
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
	return service{proto: "ftp", ln: ln, server: srv, private: priv}, nil
}
