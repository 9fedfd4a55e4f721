//go:build linux && cgo

package cardtest

import "github.com/ebfe/scard"

// cardPresent asks pcscd whether the virtual reader holds a card.
func cardPresent() bool {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return false
	}
	defer ctx.Release()
	states := []scard.ReaderState{{Reader: ReaderName, CurrentState: scard.StateUnaware}}
	if err := ctx.GetStatusChange(states, 0); err != nil {
		return false
	}
	return states[0].EventState&scard.StatePresent != 0
}
