//go:build cgo || windows

package cardcrypt

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// pcscCard is the card over PC/SC: one session, held by whoever holds
// the one value of slot.
type pcscCard struct {
	pin      []byte
	fpr      []byte // the signature key's fingerprint: the same card on reconnect
	extended bool
	log      *slog.Logger
	slot     chan *cardSlot
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
	c := &pcscCard{pin: bytes.Clone(opts.PIN), log: opts.Logger, slot: make(chan *cardSlot, 1)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var key *signKey
	var enc *Key
	var st Status
	err = sess.do(func(ch *channel) error {
		var err error
		if key, enc, err = c.readKeys(ch); err != nil {
			return err
		}
		if err := readStatus(ch, &st); err != nil {
			return err
		}
		return c.unlock(ch)
	})
	if err != nil {
		sess.close()
		return nil, err
	}
	c.fpr = key.fpr
	c.slot <- &cardSlot{reader: sess.reader, sess: sess}
	uid := cmp.Or(opts.UserID, st.Cardholder, "OpenPGP card "+st.Serial)
	s, err := newSigner(opts, key, c, uid, enc)
	if err != nil {
		c.close()
		return nil, err
	}
	return s, nil
}

// CheckSigning opens the card in reader and checks its PIN policy, so
// that a missing card or one share would not sign with is said before a
// PIN is asked for.
func CheckSigning(reader string) error {
	sess, err := open(reader)
	if err != nil {
		return err
	}
	defer sess.close()
	return sess.do(func(ch *channel) error {
		ad, err := readAppData(ch)
		if err != nil {
			return err
		}
		return checkPINPolicy(ad.pwStatus)
	})
}

// readKeys reads the signature key and the encryption key, if any.
func (c *pcscCard) readKeys(ch *channel) (*signKey, *Key, error) {
	ad, err := readAppData(ch)
	if err != nil {
		return nil, nil, err
	}
	want := ad.fingerprints[SlotSign]
	if want == nil {
		return nil, nil, ErrNoSignKey
	}
	c.extended = extendedLength(ad.historical)
	ch.extended = c.extended
	tmpl, err := ch.sendLong(0x47, 0x81, 0x00, []byte{0xB6, 0x00})
	if err != nil {
		return nil, nil, fmt.Errorf("read the card's signature key: %w", err)
	}
	key, err := newSignKey(ad.attrs[SlotSign], tmpl, ad.times[SlotSign], want)
	if err != nil {
		return nil, nil, err
	}
	enc, err := readEncryptionKey(ch)
	if errors.Is(err, ErrNoKey) {
		return key, nil, nil
	}
	return key, enc, err
}

// unlock verifies PW1 for signing unless it still is. It refuses cards
// that want the PIN per signature, even while PW1 is verified (another
// program on the shared card may have verified it), and PINs one wrong
// try from blocking.
func (c *pcscCard) unlock(ch *channel) error {
	ad, err := readAppData(ch)
	if err != nil {
		return err
	}
	if err := checkPINPolicy(ad.pwStatus); err != nil {
		return err
	}
	if _, err := ch.send(0x20, 0x00, 0x81, nil); err == nil {
		return nil // still verified
	}
	_, err = ch.send(0x20, 0x00, 0x81, c.pin)
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

// sign has the card sign input, waiting for the card as long as ctx
// allows. It reconnects to a card that came back, at most every
// reconnectPause.
func (c *pcscCard) sign(ctx context.Context, input []byte) ([]byte, error) {
	var slot *cardSlot
	select {
	case slot = <-c.slot:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { c.slot <- slot }()
	if slot.broken != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignUnavailable, slot.broken)
	}
	if slot.sess == nil {
		if err := c.reconnect(slot); err != nil {
			return nil, err
		}
	}
	var raw []byte
	err := slot.sess.do(func(ch *channel) error {
		ch.extended = c.extended
		if err := c.unlock(ch); err != nil {
			return err
		}
		var err error
		raw, err = ch.sendLong(0x2A, 0x9E, 0x9A, input)
		return err
	})
	if err != nil {
		return nil, c.failed(slot, err)
	}
	return raw, nil
}

// failed records a failed card operation: PIN trouble stops signing for
// good (retrying would block the PIN); anything but a card's answer
// means the card is gone until it is back.
func (c *pcscCard) failed(slot *cardSlot, err error) error {
	var se *StatusError
	switch {
	case errors.Is(err, ErrWrongPIN), errors.Is(err, ErrFewTries), errors.Is(err, ErrForcedPIN):
		slot.broken = err
		c.log.Error("signing stopped: the card refused the PIN; restart share with the right PIN", "err", err)
	case errors.As(err, &se):
		c.log.Error("the card refused to sign", "err", err)
	default:
		slot.sess.close()
		slot.sess = nil
		slot.retryAt = time.Now().Add(reconnectPause)
		c.log.Warn("card removed: signatures answer 503 until it is back; everything else goes on", "reader", slot.reader, "err", pcscError(err))
	}
	return fmt.Errorf("%w: %w", ErrSignUnavailable, err)
}

// reconnect opens the card again if it is the same card, with the PIN.
func (c *pcscCard) reconnect(slot *cardSlot) error {
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
		if !bytes.Equal(ad.fingerprints[SlotSign], c.fpr) {
			return errors.New("the card in the reader holds another signature key")
		}
		ch.extended = c.extended
		return c.unlock(ch)
	})
	if err != nil {
		sess.close()
		if errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrFewTries) || errors.Is(err, ErrForcedPIN) {
			slot.broken = err
		}
		c.log.Warn("card not usable for signing", "reader", slot.reader, "err", err)
		return fmt.Errorf("%w: %w", ErrSignUnavailable, err)
	}
	slot.sess = sess
	c.log.Info("card back: signing again", "reader", slot.reader)
	return nil
}

// close releases the card.
func (c *pcscCard) close() {
	slot := <-c.slot
	if slot.sess != nil {
		slot.sess.close()
		slot.sess = nil
	}
	slot.broken = errors.New("signer closed")
	c.slot <- slot
}
