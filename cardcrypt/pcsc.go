//go:build cgo || windows

package cardcrypt

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ebfe/scard"
)

// Smartcards says that this build talks to smartcards over PC/SC.
const Smartcards = true

// openPGPAID selects the OpenPGP application by its registered prefix.
var openPGPAID = []byte{0xD2, 0x76, 0x00, 0x01, 0x24, 0x01}

// session is a connection to one OpenPGP card in shared mode.
type session struct {
	ctx    *scard.Context
	card   *scard.Card
	reader string
}

// open finds the reader with an OpenPGP card (or the named reader) and
// connects to it in shared mode, so scdaemon can use the card too.
func open(reader string) (*session, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, pcscError(err)
	}
	readers, err := ctx.ListReaders()
	if err != nil || len(readers) == 0 {
		ctx.Release()
		if err == nil || errors.Is(err, scard.ErrNoReadersAvailable) {
			return nil, ErrNoReader
		}
		return nil, pcscError(err)
	}
	if reader != "" {
		if !slices.Contains(readers, reader) {
			ctx.Release()
			return nil, fmt.Errorf("reader %q not found: pick one of %q with --reader", reader, readers)
		}
		readers = []string{reader}
	}
	s, err := connectFirst(ctx, readers)
	if err != nil {
		ctx.Release()
		return nil, err
	}
	return s, nil
}

// connectFirst tries the readers in order and keeps the first one whose
// card has the OpenPGP application. When none has, the most telling error
// wins: busy, then not OpenPGP, then no card.
func connectFirst(ctx *scard.Context, readers []string) (*session, error) {
	var errs []error
	for _, r := range readers {
		s := &session{ctx: ctx, reader: r}
		err := s.connect()
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	for _, want := range []error{ErrCardBusy, ErrNotOpenPGP, ErrNoCard} {
		for _, err := range errs {
			if errors.Is(err, want) {
				return nil, err
			}
		}
	}
	return nil, errors.Join(errs...)
}

// connect connects to s.reader and checks for the OpenPGP application.
func (s *session) connect() error {
	card, err := s.ctx.Connect(s.reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		return pcscError(err)
	}
	s.card = card
	err = s.do(func(*channel) error { return nil })
	if err != nil {
		card.Disconnect(scard.LeaveCard)
		s.card = nil
	}
	return err
}

// do runs f in one short transaction with the OpenPGP application selected.
func (s *session) do(f func(ch *channel) error) error {
	if err := s.card.BeginTransaction(); err != nil {
		return pcscError(err)
	}
	defer s.card.EndTransaction(scard.LeaveCard)
	ch := &channel{t: s.card}
	if _, err := ch.send(0xA4, 0x04, 0x00, openPGPAID); err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			return fmt.Errorf("%w (reader %q, SELECT answered %04X)", ErrNotOpenPGP, s.reader, se.SW)
		}
		return err
	}
	return f(ch)
}

// ReadCardKey reads the card's encryption key from the named reader, or
// from the first reader holding an OpenPGP card when reader is "". The
// key is rebuilt from the card's public key data and must match the
// fingerprint the card stores.
func ReadCardKey(reader string) (*Key, error) {
	s, err := open(reader)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var key *Key
	err = s.do(func(ch *channel) error {
		key, err = readEncryptionKey(ch)
		return err
	})
	if err != nil {
		return nil, err
	}
	key.Source = "card in " + s.reader
	key.Reader = s.reader
	return key, nil
}

// ReadCardStatus describes the OpenPGP card in the named reader, or in
// the first reader holding one when reader is "".
func ReadCardStatus(reader string) (*Status, error) {
	s, err := open(reader)
	if err != nil {
		return nil, err
	}
	defer s.close()
	st := &Status{Reader: s.reader}
	err = s.do(func(ch *channel) error { return readStatus(ch, st) })
	if err != nil {
		return nil, err
	}
	return st, nil
}

// close disconnects and releases the PC/SC context.
func (s *session) close() {
	if s.card != nil {
		s.card.Disconnect(scard.LeaveCard)
	}
	s.ctx.Release()
}

// pcscError turns PC/SC codes a person can fix into the package's errors.
func pcscError(err error) error {
	var code scard.Error
	if !errors.As(err, &code) {
		return err
	}
	switch code {
	case scard.ErrNoService, scard.ErrServiceStopped:
		return ErrNoService
	case scard.ErrNoReadersAvailable, scard.ErrUnknownReader, scard.ErrReaderUnavailable:
		return ErrNoReader
	case scard.ErrNoSmartcard, scard.ErrRemovedCard, scard.ErrUnpoweredCard, scard.ErrUnresponsiveCard:
		return ErrNoCard
	case scard.ErrSharingViolation:
		return ErrCardBusy
	}
	return fmt.Errorf("PC/SC: %w", err)
}

// Readers lists the PC/SC readers, for error messages and `share card`.
func Readers() ([]string, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, pcscError(err)
	}
	defer ctx.Release()
	readers, err := ctx.ListReaders()
	if err != nil {
		return nil, pcscError(err)
	}
	return readers, nil
}
