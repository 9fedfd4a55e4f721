package netutil

import (
	"context"
	"syscall"
	"time"
)

// PeerLookEvery is how often WatchPeer looks whether the peer has gone:
// work for a client that left stops within about this long.
const PeerLookEvery = 250 * time.Millisecond

// WatchPeer returns a context that ends with ctx, or once the peer of
// raw has closed or reset the connection, looked at every PeerLookEvery. Work
// that sends nothing for a long time (hashing, encrypting up to a far
// offset) notices a client that left only this way. Where PeerGone cannot
// tell, the context ends with ctx only.
func WatchPeer(ctx context.Context, raw syscall.RawConn) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if raw == nil || !CanSeePeerGone {
		return ctx, cancel
	}
	go func() {
		tick := time.NewTicker(PeerLookEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if PeerGone(raw) {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
