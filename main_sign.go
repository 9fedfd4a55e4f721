package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"example.com/share/cardcrypt"
	"example.com/share/ftpshare"
	"example.com/share/httpshare"
)

// signFlags are the options of --sign.
func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "sign", Category: catSigning, Usage: "sign with the card's signature key: FILE?sig, DIR/?sha256&sig, /?pubkey, FTP FILE.sig", EnvVars: envOf("sign")},
		&cli.StringFlag{Name: "pin-file", Category: catSigning, Usage: "read the card's PIN for --sign from the first line of `FILE` (default: ask on the terminal)", EnvVars: envOf("pin-file")},
		&cli.StringFlag{Name: "uid", Category: catSigning, Usage: "user ID of the certificate /?pubkey gives, `\"Name <mail>\"` (default: the card's cardholder name)", EnvVars: envOf("uid")},
	}
}

// signer opens the card's signature key for --sign; nil without it.
func signer(c *cli.Context, logger *slog.Logger) (*cardcrypt.Signer, error) {
	if !c.Bool("sign") {
		return nil, nil // checkRequires refused its options
	}
	if err := cardcrypt.CheckSigning(c.String("reader")); err != nil {
		return nil, err
	}
	pin, err := readPIN(c.String("pin-file"), c.App.ErrWriter)
	if err != nil {
		return nil, err
	}
	s, err := cardcrypt.OpenSigner(cardcrypt.SignerOptions{
		Reader: c.String("reader"), PIN: pin, UserID: c.String("uid"),
		Armor: c.Bool("armor"), Logger: logger,
	})
	clear(pin)
	if err != nil {
		return nil, err
	}
	logger.Info("signing with the card", "key", s.Fingerprint())
	return s, nil
}

// errNoPIN is --sign with neither a terminal nor --pin-file.
var errNoPIN = errors.New("--sign needs the card's PIN: run share in a terminal to type it, or give --pin-file FILE")

// readPIN reads the PIN from the first line of file, or from the
// terminal without echo.
func readPIN(file string, prompt io.Writer) ([]byte, error) {
	if file != "" {
		return readPINFile(file)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoPIN
	}
	fmt.Fprint(prompt, "PIN of the card's signature key: ")
	pin, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return nil, fmt.Errorf("read the PIN from the terminal: %w", err)
	}
	return checkPIN(pin)
}

func readPINFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--pin-file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 256)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("--pin-file %s: %w", file, err)
	}
	return checkPIN(bytes.TrimRight(line, "\r\n"))
}

// checkPIN refuses what no card takes as a PIN (6 to 127 bytes).
func checkPIN(pin []byte) ([]byte, error) {
	if len(pin) < 6 || len(pin) > 127 {
		return nil, errors.New("the card's PIN has 6 to 127 characters; check the terminal input or --pin-file")
	}
	return pin, nil
}

// httpSigner is s for the HTTP server: nil stays a nil interface.
func httpSigner(s *cardcrypt.Signer) httpshare.Signer {
	if s == nil {
		return nil
	}
	return s
}

// ftpSigner is s for the FTP server: nil stays a nil interface.
func ftpSigner(s *cardcrypt.Signer) ftpshare.Signer {
	if s == nil {
		return nil
	}
	return s
}
