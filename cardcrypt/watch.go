//go:build cgo || windows

package cardcrypt

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ebfe/scard"
)

// watchPoll bounds each wait for a reader event, so cancellation is seen.
const watchPoll = 2 * time.Second

// WatchCard logs when the card leaves the reader or comes back, until ctx
// ends. Encryption does not need the card after start-up (the public key
// read then keeps working), so this only informs the person serving.
func WatchCard(ctx context.Context, reader string, logger *slog.Logger) {
	present := true
	for ctx.Err() == nil {
		err := watchOnce(ctx, reader, &present, logger)
		if err != nil && ctx.Err() == nil {
			logger.Warn("cannot watch the card reader; retrying", "reader", reader, "err", pcscError(err))
			sleep(ctx, 5*time.Second)
		}
	}
}

// watchOnce follows the reader's state with one PC/SC context until an
// error or the end of ctx.
func watchOnce(ctx context.Context, reader string, present *bool, logger *slog.Logger) error {
	pc, err := scard.EstablishContext()
	if err != nil {
		return err
	}
	defer pc.Release()
	states := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for ctx.Err() == nil {
		err := pc.GetStatusChange(states, watchPoll)
		if errors.Is(err, scard.ErrTimeout) {
			continue
		}
		if err != nil {
			return err
		}
		now := states[0].EventState&scard.StatePresent != 0
		if now != *present {
			logCardChange(logger, reader, now)
			*present = now
		}
		states[0].CurrentState = states[0].EventState &^ scard.StateChanged
	}
	return nil
}

func logCardChange(logger *slog.Logger, reader string, present bool) {
	if present {
		logger.Info("OpenPGP card inserted again", "reader", reader)
		return
	}
	logger.Warn("OpenPGP card removed; downloads stay encrypted to the key read at start-up", "reader", reader)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
