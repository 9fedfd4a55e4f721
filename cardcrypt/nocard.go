//go:build !cgo && !windows

package cardcrypt

import (
	"context"
	"log/slog"
)

// Smartcards says that this build has no PC/SC: github.com/ebfe/scard
// needs cgo on every system but Windows.
const Smartcards = false

// ReadCardKey answers ErrNoSmartcard: this build cannot reach a card.
func ReadCardKey(string) (*Key, error) { return nil, ErrNoSmartcard }

// ReadCardStatus answers ErrNoSmartcard: this build cannot reach a card.
func ReadCardStatus(string) (*Status, error) { return nil, ErrNoSmartcard }

// Readers answers ErrNoSmartcard: this build cannot reach a card.
func Readers() ([]string, error) { return nil, ErrNoSmartcard }

// WatchCard returns at once: without PC/SC there is no reader to watch
// (and ReadCardKey never gave a key to watch for).
func WatchCard(context.Context, string, *slog.Logger) {}
