package cardcrypt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
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
	// The file may hold a secret key by mistake: keep none of it.
	defer clear(data)
	key, err := parseRecipient(data)
	var unusable keyProblem
	if errors.As(err, &unusable) {
		return nil, fmt.Errorf("recipient key %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("recipient key %s: %w (export one with gpg --export --armor KEYID > FILE)", path, err)
	}
	key.Source = path
	return key, nil
}

// keyProblem is a key that was read but cannot be encrypted to; its
// text says why and what to do.
type keyProblem struct{ text string }

func (p keyProblem) Error() string { return p.text }

func problemf(format string, args ...any) error {
	return keyProblem{fmt.Sprintf(format, args...)}
}

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
	e := list[0]
	fpr := strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
	if e.PrivateKey != nil {
		return nil, problemf("the file holds a secret key, which share must not have; give the public key only: gpg --export --armor %s > %s.asc", fpr, fpr[len(fpr)-8:])
	}
	now := time.Now()
	k, ok := e.EncryptionKey(now)
	if !ok {
		return nil, whyNoEncryptionKey(e, fpr, now)
	}
	if !supportedAlgo(k.PublicKey.PubKeyAlgo) {
		return nil, problemf("its encryption subkey is %s, which share does not encrypt to (it makes RSA and ECC messages, as OpenPGP cards hold); add an ECC one with gpg --quick-add-key %s cv25519 encr, then export the key again", algoName(k.PublicKey.PubKeyAlgo), fpr)
	}
	key := &Key{Public: k.PublicKey, Primary: e.PrimaryKey.Fingerprint}
	if id := e.PrimaryIdentity(); id != nil {
		key.UserID = id.Name
	}
	return key, nil
}

// supportedAlgo reports the algorithms share encrypts to.
func supportedAlgo(a packet.PublicKeyAlgorithm) bool {
	return a == packet.PubKeyAlgoRSA || a == packet.PubKeyAlgoRSAEncryptOnly || a == packet.PubKeyAlgoECDH
}

// algoName names an algorithm for an error.
func algoName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoElGamal:
		return "ElGamal"
	case packet.PubKeyAlgoDSA:
		return "DSA"
	case packet.PubKeyAlgoX25519:
		return "X25519 (OpenPGP v6)"
	case packet.PubKeyAlgoX448:
		return "X448"
	}
	return fmt.Sprintf("public-key algorithm %d", a)
}

// whyNoEncryptionKey says why a key has no encryption subkey usable now,
// with the gpg command that mends it.
func whyNoEncryptionKey(e *openpgp.Entity, fpr string, now time.Time) error {
	self, _ := e.PrimarySelfSignature()
	switch {
	case e.Revoked(now):
		return problemf("the key %s was revoked; ask its owner for a current key", fpr)
	case self != nil && (e.PrimaryKey.KeyExpired(self, now) || self.SigExpired(now)):
		return problemf("the key %s has expired; its owner can extend it with gpg --quick-set-expire %s 1y, then export it again", fpr, fpr)
	}
	var expired, other []*openpgp.Subkey
	for i := range e.Subkeys {
		sk := &e.Subkeys[i]
		if !sk.Sig.FlagsValid || !sk.Sig.FlagEncryptCommunications {
			continue
		}
		switch {
		case sk.PublicKey.KeyExpired(sk.Sig, now) || sk.Sig.SigExpired(now):
			expired = append(expired, sk)
		default:
			other = append(other, sk)
		}
	}
	if len(expired) > 0 && len(other) == 0 {
		return problemf("the encryption subkey of %s has expired; its owner can extend it with gpg --quick-set-expire %s 1y '*', then export the key again", fpr, fpr)
	}
	if len(other) > 0 && !supportedAlgo(other[0].PublicKey.PubKeyAlgo) {
		return problemf("its encryption subkey is %s, which share does not encrypt to; add an ECC one with gpg --quick-add-key %s cv25519 encr, then export the key again", algoName(other[0].PublicKey.PubKeyAlgo), fpr)
	}
	if len(other) > 0 {
		return problemf("the encryption subkey of %s was revoked; add a new one with gpg --quick-add-key %s cv25519 encr, then export the key again", fpr, fpr)
	}
	return problemf("the key %s has no encryption subkey; add one with gpg --quick-add-key %s cv25519 encr, then export the key again", fpr, fpr)
}
