// Package transfers keeps the downloads in flight that both servers
// report, for the live view in the sharer's terminal, and the totals for
// the summary at the end. Reporting costs a servers' hot path one atomic
// add per chunk sent; a nil *Board costs nothing.
package transfers

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Board is the set of transfers in flight and the totals of those done.
type Board struct {
	mu      sync.Mutex
	active  map[*Transfer]struct{}
	files   int64
	cut     int64
	bytes   int64
	clients map[netip.Addr]struct{}
	maxSeen int // bounds clients: the summary stops counting past it
}

// maxClients bounds the distinct clients remembered for the summary.
const maxClients = 100_000

// New returns an empty board.
func New() *Board {
	return &Board{active: map[*Transfer]struct{}{}, clients: map[netip.Addr]struct{}{}, maxSeen: maxClients}
}

// Transfer is one download in flight.
type Transfer struct {
	board  *Board
	Proto  string // "http" or "ftp"
	Client netip.Addr
	Path   string // decoded, absolute
	Size   int64  // bytes this transfer will send; -1 when unknown
	Start  time.Time
	sent   atomic.Int64
}

// Start records a transfer that begins. It returns nil on a nil board;
// every method of Transfer accepts a nil receiver.
func (b *Board) Start(proto string, client netip.Addr, path string, size int64) *Transfer {
	if b == nil {
		return nil
	}
	t := &Transfer{board: b, Proto: proto, Client: client.Unmap(), Path: path, Size: size, Start: time.Now()}
	b.mu.Lock()
	b.active[t] = struct{}{}
	b.mu.Unlock()
	return t
}

// Add counts n more bytes sent.
func (t *Transfer) Add(n int64) {
	if t != nil && n > 0 {
		t.sent.Add(n)
	}
}

// Sent is the number of bytes sent so far.
func (t *Transfer) Sent() int64 {
	if t == nil {
		return 0
	}
	return t.sent.Load()
}

// Done removes the transfer from the board; a complete one counts as a
// file served.
func (t *Transfer) Done(complete bool) {
	if t == nil {
		return
	}
	b := t.board
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.active[t]; !ok {
		return
	}
	delete(b.active, t)
	b.bytes += t.sent.Load()
	if complete {
		b.files++
	} else {
		b.cut++
	}
	if len(b.clients) < b.maxSeen {
		b.clients[t.Client] = struct{}{}
	}
}

// Active lists the transfers in flight, oldest first.
func (b *Board) Active() []*Transfer {
	b.mu.Lock()
	out := make([]*Transfer, 0, len(b.active))
	for t := range b.active {
		out = append(out, t)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Totals is what the board has seen end: files served whole, transfers
// cut short, bytes sent (cut transfers included) and distinct client
// addresses.
type Totals struct {
	Files, Cut, Bytes int64
	Clients           int
}

// Totals returns the totals of the transfers done so far.
func (b *Board) Totals() Totals {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Totals{Files: b.files, Cut: b.cut, Bytes: b.bytes, Clients: len(b.clients)}
}
