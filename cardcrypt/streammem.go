package cardcrypt

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// What an encrypted stream may hold, decided here. A stream borrows
// its chunks (plaintext read, encrypted in place, written) from one pool
// only while it reads, encrypts or writes them, and reads no more than
// its writer can take without blocking (gate): a stream whose client
// stops reading waits holding no chunk (unless the kernel is short of
// socket memory: then a write may wait with its piece). A pipeline takes
// chunks past its first only while all pipelines together hold fewer
// than maxPipeExtras of them (lender).

// streamChunk is the most plaintext a stream encrypts at a time: with
// maxWrite, the size of the reads from the file and of the writes to the
// connection.
const streamChunk = maxWrite

// pipeBuffers is how many plaintext chunks a pipe may have in flight:
// one being read, one encrypted, one written (and one hashed, where the
// CPU has no SHA instructions).
const pipeBuffers = 3

// maxPipeExtras bounds the chunks held past one per pipeline, all
// pipelines together (16 MiB): enough for every core to be busy.
const maxPipeExtras = 128

// minGatedRead is the least a gated stream reads once its writer has
// room: fewer bytes are not worth the calls.
const minGatedRead = 8 << 10

// smallWrite is the most ciphertext a message encrypts through its own
// buffer; more goes through a borrowed chunk.
const smallWrite = 512

var (
	chunks     = sync.Pool{New: func() any { return new([streamChunk]byte) }}
	pipeExtras atomic.Int64 // chunks held past one per pipeline
)

// getChunk borrows a chunk of streamChunk bytes.
func getChunk() []byte { return chunks.Get().(*[streamChunk]byte)[:] }

// putChunk gives back a chunk from getChunk.
func putChunk(b []byte) { chunks.Put((*[streamChunk]byte)(b[:streamChunk])) }

// RoomTeller is a writer that can wait, within its deadline, until it
// can take more bytes without blocking, and say about how many (0: it
// cannot tell). An encrypted stream written to one reads and encrypts no
// more than that ahead, so a client that stops reading pins no chunk.
type RoomTeller interface {
	Room() (int, error)
}

// gate says how much plaintext a stream may read next: no more than its
// writer can take, less what is already on its way there.
type gate struct {
	w    RoomTeller // nil: no gate (the writer cannot tell)
	room int64      // what w could take when last told, less what was read since
}

func newGate(w any) gate {
	rt, _ := w.(RoomTeller)
	return gate{w: rt}
}

// next returns how many of most bytes may be read now. busy is what was
// read but not yet written; wait waits for the writer to write some, and
// is false once the stream stops (then next fails with errQuit). The
// room is asked for only once everything read is written: a wait for
// room then holds no chunk, and the answer counts what was written.
func (g *gate) next(most int64, busy func() int64, wait func() bool) (int64, error) {
	for g.w != nil && g.room < minGatedRead {
		if busy() > 0 {
			if !wait() {
				return 0, errQuit
			}
			continue
		}
		room, err := g.w.Room()
		if err != nil {
			return 0, err
		}
		if room <= 0 {
			g.w = nil // cannot tell: read as much as ever
			break
		}
		// Half: the kernel counts its overhead in the room, which for the
		// small segments of a small window is as much as the data.
		g.room = max(int64(room)/2, minGatedRead)
	}
	if g.w == nil {
		return most, nil
	}
	n := min(most, g.room)
	g.room -= n
	return n, nil
}

// lender lends one pipeline its chunks: the first always, more only
// while the pipelines together hold fewer than maxPipeExtras extra.
type lender struct {
	mu  sync.Mutex
	out int
}

// borrow returns a chunk, or nil when this pipeline is to make do with
// those it holds.
func (l *lender) borrow() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out >= 1 {
		if pipeExtras.Add(1) > maxPipeExtras {
			pipeExtras.Add(-1)
			return nil
		}
	}
	l.out++
	return getChunk()
}

// giveBack returns a chunk from borrow.
func (l *lender) giveBack(b []byte) {
	l.mu.Lock()
	l.out--
	if l.out >= 1 {
		pipeExtras.Add(-1)
	}
	l.mu.Unlock()
	putChunk(b)
}

// close gives back the count of chunks never returned (a pipeline that
// stopped with some in flight); they are left to the collector.
func (l *lender) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out > 1 {
		pipeExtras.Add(int64(1 - l.out))
	}
	l.out = 0
}

// drained lets go of the buffer's array once what it held is handed out:
// a Read path stream that stalls holds at most what its last fill made
// past what was read.
func (k *sink) drained() {
	if k.buf.Len() == 0 {
		k.buf = bytes.Buffer{}
	}
}
