package cardcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// maxKeyFile bounds what LoadRecipientFile reads: public keys are small.
const maxKeyFile = 4 << 20

// LoadRecipientFile reads an OpenPGP public key (armored or binary) and
// returns its encryption key.
func LoadRecipientFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the --recipient key file: %w; give an exported public key (gpg --export --armor KEYID > key.asc)", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("recipient key %s: %w", path, err)
	}
	key, err := parseRecipient(data)
	if errors.Is(err, errNoEncryptionKey) {
		return nil, fmt.Errorf("recipient key %s: %w; add one with gpg --quick-add-key FINGERPRINT default encr, then export the key again", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("recipient key %s: %w (export one with gpg --export --armor KEYID > FILE)", path, err)
	}
	key.Source = path
	return key, nil
}

// errNoEncryptionKey: the key has no encryption subkey valid now.
var errNoEncryptionKey = errors.New("the key has no valid encryption subkey (expired, revoked or never made)")

func parseRecipient(data []byte) (*Key, error) {
	var list openpgp.EntityList
	var err error
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP public key: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("no key in the file")
	}
	if len(list) > 1 {
		return nil, fmt.Errorf("the file holds %d keys; give each with its own --recipient", len(list))
	}
	k, ok := list[0].EncryptionKey(time.Now())
	if !ok {
		return nil, errNoEncryptionKey
	}
	return &Key{Public: k.PublicKey}, nil
}
