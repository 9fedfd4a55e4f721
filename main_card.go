package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"example.com/share/cardcrypt"
	"example.com/share/internal/config"
	"example.com/share/sharefs"
)

// cardCommand is `share card`: what the attached OpenPGP card holds.
func cardCommand() *cli.Command {
	return &cli.Command{
		Name:  "card",
		Usage: "show what the attached OpenPGP card holds",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reader", Usage: "PC/SC reader `NAME` (default: the first one holding an OpenPGP card)", EnvVars: envOf("reader")},
		},
		Action: func(c *cli.Context) error {
			st, err := cardcrypt.ReadCardStatus(readerFlag(c))
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, st)
			if enc := st.Keys[1].Fingerprint; enc != nil {
				if primary, uid, ok := cardcrypt.FindOwner(enc); ok {
					fmt.Fprintf(c.App.Writer, "General key info..: %X\n                    %s\n", primary, uid)
				}
			}
			return nil
		},
	}
}

// readerFlag is --reader given after `card` or before it.
func readerFlag(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("reader") {
			return ctx.String("reader")
		}
	}
	return ""
}

// encryptionView wraps v so that every download is encrypted to the card's
// key and the --recipient keys; without --encrypt and --recipient it
// returns v unchanged.
func encryptionView(c *cli.Context, v sharefs.View, logger *slog.Logger) (sharefs.View, error) {
	useCard, files := c.Bool("encrypt"), c.StringSlice("recipient")
	if c.IsSet("reader") && !cardcrypt.Smartcards {
		return nil, cardcrypt.ErrNoSmartcard
	}
	if !useCard && len(files) == 0 {
		return v, nil
	}
	var keys []*cardcrypt.Key
	if useCard {
		key, err := cardcrypt.ReadCardKey(c.String("reader"))
		if err != nil {
			return nil, err
		}
		if primary, uid, ok := cardcrypt.FindOwner(key.Public.Fingerprint); ok {
			key.Primary, key.UserID = primary, uid
		}
		keys = append(keys, key)
		go cardcrypt.WatchCard(context.Background(), key.Reader, logger)
	}
	for _, f := range files {
		key, err := cardcrypt.LoadRecipientFile(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	enc, err := cardcrypt.NewEncryptor(keys, c.Bool("armor"))
	if err != nil {
		return nil, err
	}
	dir, err := config.Dir()
	if err != nil {
		return nil, err
	}
	secret, err := cardcrypt.LoadSecret(dir)
	if err != nil {
		return nil, err
	}
	enc.UseSecret(secret)
	for _, k := range enc.Keys() {
		logger.Info("encrypting every download", "to", k.Describe(), "encryption_key", k.Fingerprint(), "from", k.Source)
	}
	return enc.View(v), nil
}
