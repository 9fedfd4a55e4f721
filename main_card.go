package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"example.com/share/sharefs"
)

// Placeholder until cardcrypt lands: it refuses rather than serve plaintext.

func cardCommand() *cli.Command {
	return &cli.Command{
		Name:  "card",
		Usage: "show what the attached OpenPGP card holds",
		Action: func(*cli.Context) error {
			return errors.New("reading OpenPGP cards is not built yet")
		},
	}
}

func encryptionView(c *cli.Context, v sharefs.View) (sharefs.View, error) {
	if c.Bool("encrypt") || len(c.StringSlice("recipient")) > 0 {
		return nil, errors.New("encryption is not built yet")
	}
	return v, nil
}
