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
	pin      []byte
	log      *slog.Logger
	key      *signKey
	armor    bool
	extended bool
	cert     []byte
	// card holds the card; taking its one value is holding the card.
	card  chan *cardSlot
	queue *signQueue
	cache *sigCache
	made  atomic.Int64
}

// cardSlot is the session to the card and what is known of it.
type cardSlot struct {
	reader  string
	sess    *session // nil while the card is away
	retryAt time.Time
	broken  error // set when retrying could harm the card (wrong PIN)
}

// OpenSigner connects to the card, checks its PIN policy and retry
// counter, verifies the PIN, reads the signature key (and the encryption
// key, as a subkey) and has the card certify them.
func OpenSigner(opts SignerOptions) (*Signer, error) {
	sess, err := open(opts.Reader)
	if err != nil {
		return nil, err
	}
	s := &Signer{
		pin: bytes.Clone(opts.PIN), log: opts.Logger, armor: opts.Armor,
		card:  make(chan *cardSlot, 1),
		queue: newSignQueue(signQueueSize, signPerClient),
		cache: newSigCache(sigCacheSize),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var enc *Key
	var st Status
	err = sess.do(func(ch *channel) error {
		var err error
		if enc, err = s.readKeys(ch); err != nil {
			return err
		}
		if err := readStatus(ch, &st); err != nil {
			return err
		}
		return s.unlock(ch)
	})
	if err != nil {
		sess.close()
		return nil, err
	}
	s.card <- &cardSlot{reader: sess.reader, sess: sess}
	uid := cmpOr(opts.UserID, st.Cardholder, "OpenPGP card "+st.Serial)
	if s.cert, err = s.certificate(uid, enc); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// readKeys reads the signature key and the encryption key, if any.
func (s *Signer) readKeys(ch *channel) (*Key, error) {
	ad, err := readAppData(ch)
	if err != nil {
		return nil, err
	}
	want := ad.fingerprints[SlotSign]
	if want == nil {
		return nil, ErrNoSignKey
	}
	s.extended = extendedLength(ad.historical)
	ch.extended = s.extended
	tmpl, err := ch.sendLong(0x47, 0x81, 0x00, []byte{0xB6, 0x00})
	if err != nil {
		return nil, fmt.Errorf("read the card's signature key: %w", err)
	}
	if s.key, err = newSignKey(ad.attrs[SlotSign], tmpl, ad.times[SlotSign], want); err != nil {
		return nil, err
	}
	enc, err := readEncryptionKey(ch)
	if errors.Is(err, ErrNoKey) {
		return nil, nil
	}
	return enc, err
}

// unlock verifies PW1 for signing unless it still is. It refuses cards
// that want the PIN per signature and PINs one wrong try from blocking.
func (s *Signer) unlock(ch *channel) error {
	if _, err := ch.send(0x20, 0x00, 0x81, nil); err == nil {
		return nil // still verified
	}
	ad, err := readAppData(ch)
	if err != nil {
		return err
	}
	if err := checkPINPolicy(ad.pwStatus); err != nil {
		return err
	}
	_, err = ch.send(0x20, 0x00, 0x81, s.pin)
	var se *StatusError
	switch {
	case errors.As(err, &se) && se.SW&0xFFF0 == 0x63C0:
		return fmt.Errorf("%w: %d tries left before the card blocks it", ErrWrongPIN, se.SW&0x0F)
	case errors.As(err, &se) && se.SW == 0x6983:
		return fmt.Errorf("%w: the PIN is blocked; unblock it with gpg --card-edit (admin, passwd)", ErrWrongPIN)
	case err != nil:
		return fmt.Errorf("verify the PIN: %w", err)
	}
	return nil
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
// for it without reading the file; an empty version keys it by the
// bytes themselves. Past the queue it returns ErrSignBusy; without the
// card ErrSignUnavailable.
func (s *Signer) Sign(ctx context.Context, client netip.Addr, version string, content func(io.Writer) error) ([]byte, error) {
	if version != "" {
		if sig, ok := s.cache.get(version); ok {
			return sig, nil
		}
	}
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
	raw, err := s.cardSign(ctx, s.key.cardInput(digest))
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

// cardSign has the card sign input, waiting for the card as long as ctx
// allows. It reconnects to a card that came back, at most every
// reconnectPause.
func (s *Signer) cardSign(ctx context.Context, input []byte) ([]byte, error) {
	var slot *cardSlot
	select {
	case slot = <-s.card:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { s.card <- slot }()
	if slot.broken != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignUnavailable, slot.broken)
	}
	if slot.sess == nil {
		if err := s.reconnect(slot); err != nil {
			return nil, err
		}
	}
	var raw []byte
	err := slot.sess.do(func(ch *channel) error {
		ch.extended = s.extended
		if err := s.unlock(ch); err != nil {
			return err
		}
		var err error
		raw, err = ch.sendLong(0x2A, 0x9E, 0x9A, input)
		return err
	})
	if err != nil {
		return nil, s.failed(slot, err)
	}
	return raw, nil
}

// failed records a failed card operation: PIN trouble stops signing for
// good (retrying would block the PIN); anything but a card's answer
// means the card is gone until it is back.
func (s *Signer) failed(slot *cardSlot, err error) error {
	var se *StatusError
	switch {
	case errors.Is(err, ErrWrongPIN), errors.Is(err, ErrFewTries), errors.Is(err, ErrForcedPIN):
		slot.broken = err
		s.log.Error("signing stopped: the card refused the PIN; restart share with the right PIN", "err", err)
	case errors.As(err, &se):
		s.log.Error("the card refused to sign", "err", err)
	default:
		slot.sess.close()
		slot.sess = nil
		slot.retryAt = time.Now().Add(reconnectPause)
		s.log.Warn("card removed: signatures answer 503 until it is back; everything else goes on", "reader", slot.reader, "err", pcscError(err))
	}
	return fmt.Errorf("%w: %w", ErrSignUnavailable, err)
}

// reconnect opens the card again if it is the same card, with the PIN.
func (s *Signer) reconnect(slot *cardSlot) error {
	if time.Now().Before(slot.retryAt) {
		return fmt.Errorf("%w: the card was removed", ErrSignUnavailable)
	}
	slot.retryAt = time.Now().Add(reconnectPause)
	sess, err := open(slot.reader)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignUnavailable, err)
	}
	err = sess.do(func(ch *channel) error {
		ad, err := readAppData(ch)
		if err != nil {
			return err
		}
		if !bytes.Equal(ad.fingerprints[SlotSign], s.key.fpr) {
			return errors.New("the card in the reader holds another signature key")
		}
		ch.extended = s.extended
		return s.unlock(ch)
	})
	if err != nil {
		sess.close()
		if errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrFewTries) || errors.Is(err, ErrForcedPIN) {
			slot.broken = err
		}
		s.log.Warn("card not usable for signing", "reader", slot.reader, "err", err)
		return fmt.Errorf("%w: %w", ErrSignUnavailable, err)
	}
	slot.sess = sess
	s.log.Info("card back: signing again", "reader", slot.reader)
	return nil
}

// Close releases the card.
func (s *Signer) Close() {
	slot := <-s.card
	if slot.sess != nil {
		slot.sess.close()
		slot.sess = nil
	}
	slot.broken = errors.New("signer closed")
	s.card <- slot
}
