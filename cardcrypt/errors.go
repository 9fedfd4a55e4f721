package cardcrypt

import "errors"

// Errors a person can cause, each naming the fix. Callers print err.Error()
// as one line; errors.Is tells them apart.
var (
	ErrNoService           = errors.New("no PC/SC service is running: start pcscd (sudo systemctl start pcscd.socket)")
	ErrNoReader            = errors.New("no smartcard reader found: plug in the card reader or token")
	ErrNoCard              = errors.New("no card in the reader: insert the OpenPGP card")
	ErrNotOpenPGP          = errors.New("the card has no OpenPGP application: use an OpenPGP card (YubiKey, Nitrokey, Gnuk) or pick another reader with --reader")
	ErrNoKey               = errors.New("the OpenPGP card has no encryption key: create one with gpg --card-edit (admin, generate) or use --recipient FILE")
	ErrFingerprintMismatch = errors.New("the card's encryption key does not match its stored fingerprint: export your public key (gpg --export KEYID > key.gpg) and use --recipient key.gpg")
	ErrCardBusy            = errors.New("another program holds the card exclusively (usually GnuPG's scdaemon): add pcsc-shared to ~/.gnupg/scdaemon.conf and run gpgconf --kill scdaemon")
)

// ErrNoSmartcard is the answer of a build without PC/SC (no cgo, not
// Windows) to everything that needs the card.
var ErrNoSmartcard = errors.New("this share was built without cgo, so it has no smartcard support (--encrypt, --sign, --reader, share card): " +
	"use a build with card support (CGO_ENABLED=1 with libpcsclite-dev installed, or the Windows build) or encrypt to a key file with --recipient KEY.asc")
