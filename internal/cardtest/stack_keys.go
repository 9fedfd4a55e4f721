//go:build linux && cgo

package cardtest

import (
	"encoding/json"
	"os"
	"testing"
)

// StartWithKeys starts the stack with keys GnuPG made on the card for
// "Card Owner <email>" (see GenerateOnCard) and returns the stack and the
// owner's GnuPG home, its daemons stopped so that the card is free.
func StartWithKeys(t testing.TB, algo, email string, cardFlags ...string) (*Stack, *GnuPG) {
	t.Helper()
	s := Start(t, cardFlags...)
	g := NewGnuPG(t, true)
	g.GenerateOnCard(algo, email)
	g.Kill()
	return s, g
}

// SetPIN changes the virtual card's PIN policy while it is out of the
// reader: forced asks for the PIN before every signature (PW status
// byte 00), tries is PW1's retry counter. The card is inserted again.
func (s *Stack) SetPIN(forced bool, tries int) {
	s.t.Helper()
	s.Remove()
	data, err := os.ReadFile(s.State)
	if err != nil {
		s.t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		s.t.Fatal(err)
	}
	policy := "AQ==" // 01: the PIN holds for several signatures
	if forced {
		policy = "AA=="
	}
	st["Objects"].(map[string]any)["C4"] = policy
	st["Tries"].([]any)[0] = tries
	if data, err = json.Marshal(st); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(s.State, data, 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.Insert()
}
