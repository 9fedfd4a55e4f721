//go:build !cgo && !windows

package cardcrypt

import (
	"errors"
	"strings"
	"testing"
)

// TestNoSmartcardBuild: a build without PC/SC answers every card call
// with the one error that names a build that has the card.
func TestNoSmartcardBuild(t *testing.T) {
	if _, err := ReadCardKey(""); !errors.Is(err, ErrNoSmartcard) {
		t.Errorf("ReadCardKey: %v, want ErrNoSmartcard", err)
	}
	if _, err := ReadCardStatus("Some Reader"); !errors.Is(err, ErrNoSmartcard) {
		t.Errorf("ReadCardStatus: %v, want ErrNoSmartcard", err)
	}
	if _, err := Readers(); !errors.Is(err, ErrNoSmartcard) {
		t.Errorf("Readers: %v, want ErrNoSmartcard", err)
	}
	msg := ErrNoSmartcard.Error()
	for _, want := range []string{"without cgo", "CGO_ENABLED=1", "--recipient"} {
		if !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("message %q: want one line naming %q", msg, want)
		}
	}
}
