//go:build !cgo && !windows

package cardcrypt

// OpenSigner answers ErrNoSmartcard: this build cannot reach a card.
func OpenSigner(SignerOptions) (*Signer, error) { return nil, ErrNoSmartcard }

// CheckSigning answers ErrNoSmartcard: this build cannot reach a card.
func CheckSigning(string) error { return ErrNoSmartcard }
