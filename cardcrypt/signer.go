package cardcrypt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Errors of signing a person can fix or a client must wait out.
var (
	ErrWrongPIN  = errors.New("wrong PIN for the card's signature key")
	ErrFewTries  = errors.New("share does not try the PIN: one more wrong PIN would block it; unblock or reset it with gpg --card-edit (admin, passwd) first")
	ErrForcedPIN = errors.New("the card asks for the PIN before every signature, which a server cannot answer: turn that off with gpg --card-edit, then admin, then forcesig")
	// ErrSignBusy is a signature refused because the queue is full.
	ErrSignBusy = errors.New("too many signatures wait for the card; try again shortly")
	// ErrSignUnavailable is a signature the card cannot make now
	// (removed, or its PIN changed).
	ErrSignUnavailable = errors.New("the card is not available for signing")
)

// Bounds of signing.
const (
	signQueueSize  = 8    // signatures waiting for the card or hashing, in all
	signPerClient  = 2    // of them from one client
	sigCacheSize   = 4096 // remembered signatures (up to ~0.7 KiB each)
	reconnectPause = 2 * time.Second
	// RetryAfter is how long a refused client is told to wait.
	RetryAfter = 2 * time.Second
)

// SignerOptions configures OpenSigner.
type SignerOptions struct {
	Reader string // PC/SC reader; "" for the first with an OpenPGP card
	PIN    []byte // PW1
	UserID string // user ID of the certificate; "" for the cardholder name
	Armor  bool   // armored signatures (.asc) instead of binary (.sig)
	Logger *slog.Logger
}

// Signer makes detached OpenPGP signatures with the card's signature
// key: one card operation at a time, signatures cached by key, and a
// small queue past which requests are refused.
type Signer struct {
	key   *signKey
	armor bool
	cert  []byte
	card  signingCard
	queue *signQueue
	cache *sigCache
	// flights merges concurrent requests for one version.
	flights flights
	made    atomic.Int64
}

// signingCard is the card as the Signer uses it: it signs the input of
// PSO: COMPUTE DIGITAL SIGNATURE, one operation at a time.
type signingCard interface {
	sign(ctx context.Context, input []byte) ([]byte, error)
	close()
}

// newSigner makes a Signer for key on card and has the card certify the
// certificate: key as primary with uid, enc (if any) as a subkey.
func newSigner(opts SignerOptions, key *signKey, card signingCard, uid string, enc *Key) (*Signer, error) {
	s := &Signer{
		key: key, armor: opts.Armor, card: card,
		queue: newSignQueue(signQueueSize, signPerClient),
		cache: newSigCache(sigCacheSize),
	}
	var err error
	if s.cert, err = s.certificate(uid, enc); err != nil {
		return nil, err
	}
	return s, nil
}

// checkPINPolicy reads the PW status bytes (C4).
func checkPINPolicy(pw []byte) error {
	if len(pw) < 5 {
		return fmt.Errorf("card gives no PIN status (C4): %d bytes", len(pw))
	}
	if pw[0] == 0x00 {
		return ErrForcedPIN
	}
	if tries := int(pw[4]); tries <= 1 {
		return fmt.Errorf("the card's PIN has %d tries left; %w", tries, ErrFewTries)
	}
	return nil
}

// Fingerprint is the signature key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(s.key.fpr))
}

// Certificate is the armored public key: the signature key as primary,
// a user ID, the encryption key as a subkey, each certified by the card.
func (s *Signer) Certificate() []byte { return s.cert }

// Suffix is the name ending of a signature file: ".asc" or ".sig".
func (s *Signer) Suffix() string {
	if s.armor {
		return ".asc"
	}
	return ".sig"
}

// Signatures is how many signatures the card made for this Signer.
func (s *Signer) Signatures() int64 { return s.made.Load() }

// Sign returns a detached signature over the bytes content writes. A
// signature is kept under version (a file's version) and given again
// for it without reading the file; requests for a version being signed
// wait for that signature. An empty version keys it by the bytes
// themselves. Past the queue it returns ErrSignBusy; without the card
// ErrSignUnavailable.
func (s *Signer) Sign(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error) ([]byte, error) {
	if version == "" {
		return s.signNow(ctx, client, version, content)
	}
	for {
		if sig, ok := s.cache.get(version); ok {
			return sig, nil
		}
		c, first := s.flights.join(version)
		if first {
			return s.lead(ctx, client, version, content, c)
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// The first one's client may have left, or been over its share:
		// try again, unless the card is away for everyone.
		if c.err == nil || errors.Is(c.err, ErrSignUnavailable) {
			return c.sig, c.err
		}
	}
}

// lead signs version for its flight c and everyone waiting on it. The
// cache is looked at again: a signing may have ended between the first
// look and joining.
func (s *Signer) lead(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error, c *flight) (sig []byte, err error) {
	defer func() { s.flights.land(version, c, sig, err) }()
	if sig, ok := s.cache.get(version); ok {
		return sig, nil
	}
	return s.signNow(ctx, client, version, content)
}

// signNow hashes content and has the card sign it, in a queue place.
func (s *Signer) signNow(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error) ([]byte, error) {
	if !s.queue.enter(client) {
		return nil, ErrSignBusy
	}
	defer s.queue.leave(client)
	h := s.key.hash.New()
	var whole hash.Hash
	w := io.Writer(h)
	if version == "" {
		whole = sha256.New()
		w = io.MultiWriter(h, whole)
	}
	if err := content(w); err != nil {
		return nil, err
	}
	if whole != nil {
		version = "content:" + hex.EncodeToString(whole.Sum(nil))
		if sig, ok := s.cache.get(version); ok {
			return sig, nil
		}
	}
	sig, err := s.finish(ctx, h, s.key.signedPart(sigBinary, time.Now()))
	if err == nil && s.armor {
		sig, err = armorBytes("PGP SIGNATURE", sig)
	}
	if err != nil {
		return nil, err
	}
	s.cache.put(version, sig)
	return sig, nil
}

// finish hashes the signed part and trailer after the data in h, has
// the card sign the digest and returns the signature packet.
func (s *Signer) finish(ctx context.Context, h hash.Hash, signed []byte) ([]byte, error) {
	h.Write(signed)
	h.Write(trailer(signed))
	digest := h.Sum(nil)
	raw, err := s.card.sign(ctx, s.key.cardInput(digest))
	if err != nil {
		return nil, err
	}
	s.made.Add(1)
	return s.key.signaturePacket(signed, digest, raw)
}

// certificate builds the armored certificate, the card making its
// self-signatures.
func (s *Signer) certificate(uid string, enc *Key) ([]byte, error) {
	now := time.Now()
	primary := keyForHash(s.key.body)
	out := packetBytes(6, s.key.body)
	out = append(out, packetBytes(13, []byte(uid))...)
	h := s.key.hash.New()
	h.Write(primary)
	h.Write(userIDForHash(uid))
	sig, err := s.finish(context.Background(), h, s.key.signedPart(sigPositiveCert, now, certSubpackets()...))
	if err != nil {
		return nil, fmt.Errorf("certify the user ID: %w", err)
	}
	out = append(out, sig...)
	if enc != nil {
		var sub bytes.Buffer
		if err := enc.Public.SerializeForHash(&sub); err != nil {
			return nil, fmt.Errorf("encryption subkey: %w", err)
		}
		out = append(out, packetBytes(14, sub.Bytes()[3:])...)
		h := s.key.hash.New()
		h.Write(primary)
		h.Write(sub.Bytes())
		sig, err := s.finish(context.Background(), h, s.key.signedPart(sigSubkeyBinding, now, subpacket(subKeyFlags, flagEncrypt)))
		if err != nil {
			return nil, fmt.Errorf("bind the encryption subkey: %w", err)
		}
		out = append(out, sig...)
	}
	return armorBytes("PGP PUBLIC KEY BLOCK", out)
}

// Close releases the card.
func (s *Signer) Close() { s.card.close() }
