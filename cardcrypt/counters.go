package cardcrypt

import (
	"fmt"
	"strconv"
)

// Counters are the card's PIN policy and counters.
type Counters struct {
	ForcedPIN  bool   // the card asks for the PIN before every signature
	PINTries   [3]int // tries left: PW1, Reset Code, PW3 (Admin PIN)
	Signatures int    // signatures the card has made
}

// readCounters fills c from the PW status bytes (C4) and the security
// support template (7A).
func readCounters(ch *channel, ad *appData, c *Counters) error {
	if pw := ad.pwStatus; len(pw) >= 7 {
		c.ForcedPIN = pw[0] == 0x00
		c.PINTries = [3]int{int(pw[4]), int(pw[5]), int(pw[6])}
	}
	tmpl, err := ch.send(0xCA, 0x00, 0x7A, nil)
	if err != nil {
		return fmt.Errorf("read the signature counter (7A): %w", err)
	}
	if n, ok := findTag(tmpl, 0x93); ok {
		for _, b := range n {
			c.Signatures = c.Signatures<<8 | int(b)
		}
	}
	return nil
}

// print writes the counters as gpg --card-status shows them.
func (c Counters) print(line func(label, value string)) {
	policy := "not forced"
	if c.ForcedPIN {
		policy = "forced"
	}
	line("Signature PIN", policy)
	line("PIN retry counter", fmt.Sprintf("%d %d %d", c.PINTries[0], c.PINTries[1], c.PINTries[2]))
	line("Signature counter", strconv.Itoa(c.Signatures))
}
