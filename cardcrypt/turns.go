package cardcrypt

import (
	"net/netip"
	"sync"
)

// turns gives each client one long catch-up at a time, so that one
// client cannot hold every place for them while other clients' far
// ranges wait.
type turns struct {
	mu sync.Mutex
	m  map[netip.Addr]*turn
}

// turn is one client's place; users counts the streams holding or
// waiting for it, so the entry goes once none does.
type turn struct {
	ch    chan struct{}
	users int
}

// take waits for client's turn, giving up once done is closed. A client
// that is not known (the zero address) takes no turn.
func (t *turns) take(client netip.Addr, done <-chan struct{}) (release func(), ok bool) {
	if !client.IsValid() {
		return func() {}, true
	}
	t.mu.Lock()
	if t.m == nil {
		t.m = map[netip.Addr]*turn{}
	}
	tu := t.m[client]
	if tu == nil {
		tu = &turn{ch: make(chan struct{}, 1)}
		t.m[client] = tu
	}
	tu.users++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		if tu.users--; tu.users == 0 {
			delete(t.m, client)
		}
		t.mu.Unlock()
	}
	if !enter(tu.ch, done) {
		leave()
		return nil, false
	}
	return func() { <-tu.ch; leave() }, true
}

// enter takes a place of ch (a lock or a count of places), or gives up
// once done is closed.
func enter(ch chan struct{}, done <-chan struct{}) bool {
	select {
	case ch <- struct{}{}:
		return true
	case <-done:
		return false
	}
}
