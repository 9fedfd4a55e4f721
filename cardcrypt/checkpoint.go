package cardcrypt

import (
	"bytes"
	"container/list"
	"crypto/aes"
	"crypto/sha1"
	"encoding"
	"fmt"
	"io"
	"sort"
	"sync"

	"example.com/share/internal/membudget"
)

// checkpoint is the state of a message's encoder after some bytes of the
// file: everything needed to go on from there and make the same bytes as
// a message made from the start. CFB needs only the last ciphertext
// block; the MDC needs its hash's state.
type checkpoint struct {
	plain    int64 // bytes of the file encrypted
	out      int64 // bytes of the message made
	lit      bodyState
	seipd    bodyState
	reg      [aes.BlockSize]byte
	used     int
	off      int64
	stitched bool   // the hash is a sha1State (else crypto/sha1)
	mdc      []byte // the hash's state, marshaled
	armored  bool
	crc      uint32
	armorIn  []byte // binary bytes of a line not yet encoded
}

// bodyState is a bodyWriter of known size, as numbers.
type bodyState struct {
	remaining, pieceLeft int64
	partial, framed      bool
}

func (bw *bodyWriter) state() bodyState {
	return bodyState{remaining: bw.remaining, pieceLeft: bw.pieceLeft, partial: bw.partial, framed: bw.framed}
}

func (b bodyState) writer(w io.Writer) *bodyWriter {
	return &bodyWriter{w: w, remaining: b.remaining, partial: b.partial, known: true, pieceLeft: b.pieceLeft, framed: b.framed}
}

// cost is about what a checkpoint takes in memory.
func (cp *checkpoint) cost() int { return 256 + len(cp.mdc) + len(cp.armorIn) }

// fileCost is about what a file's entry takes in memory besides its
// checkpoints. It counts against marksMemory too: every file opened gets
// an entry, most never a checkpoint, and a walk of a big tree must not
// keep one per file.
const fileCost = 256

// snapshot records the message's state after plain bytes of the file and
// out bytes of message. mdc, when not nil, is the hash's state to record
// (where another goroutine hashes ahead of the encryption).
func (m *message) snapshot(plain, out int64, mdc []byte) (checkpoint, error) {
	c := m.enc
	cp := checkpoint{
		plain: plain, out: out,
		lit: m.literal.state(), seipd: m.seipd.state(),
		reg: c.reg, used: c.used, off: c.off, stitched: c.sha != nil,
		mdc: mdc,
	}
	if cp.mdc == nil {
		var err error
		if cp.mdc, err = c.mdc.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return cp, fmt.Errorf("record the MDC state: %w", err)
		}
	}
	if m.armor != nil {
		cp.armored, cp.crc, cp.armorIn = true, m.armor.crc, bytes.Clone(m.armor.in)
	}
	return cp, nil
}

// restore rebuilds a message at a checkpoint, writing to w, with the
// cipher of the message the checkpoint was taken from.
func restore(cp *checkpoint, w io.Writer, ci *cfbCipher) (*message, error) {
	m := &message{}
	if cp.armored {
		m.armor = newArmorState(w, cp.crc)
		m.armor.in = append(m.armor.in, cp.armorIn...)
		w = m.armor
	}
	m.seipd = cp.seipd.writer(w)
	c := &cfbWriter{w: m.seipd, aes: ci, reg: cp.reg, used: cp.used, off: cp.off}
	if cp.stitched {
		c.sha = newSHA1State()
		c.mdc = c.sha
	} else {
		c.mdc = sha1.New()
	}
	if err := c.mdc.(encoding.BinaryUnmarshaler).UnmarshalBinary(cp.mdc); err != nil {
		return nil, fmt.Errorf("restore the MDC state: %w", err)
	}
	m.enc = c
	m.literal = cp.lit.writer(c)
	return m, nil
}

// minMarkEvery is the least spacing of checkpoints, in bytes of file (a
// variable for tests).
var minMarkEvery int64 = 4 << 20

// Checkpoint spacing and memory.
const (
	maxMarks      = 1024                  // checkpoints of one file, at most
	marksMemory   = membudget.Checkpoints // bytes all checkpoints take, at most
	longCatchUps  = 2                     // catch-ups of more than one interval at once
	markAlignment = 64 << 10
)

// markEvery is the spacing of the checkpoints of a file of size bytes.
func markEvery(size int64) int64 {
	every := max(minMarkEvery, size/maxMarks)
	return (every + markAlignment - 1) / markAlignment * markAlignment
}

// checkpoints keeps the checkpoints of the files most recently read,
// within marksMemory (their entries counted): a file not read for
// longest loses its entry and all of its checkpoints first.
type checkpoints struct {
	mu    sync.Mutex
	files map[fileID]*list.Element // of *fileMarks
	lru   list.List                // most recently used first
	bytes int
	// longCatchUp bounds the catch-ups that encrypt more than an interval
	// of file without sending anything.
	longCatchUp chan struct{}
	// clients gives each client one of those places at a time.
	clients turns
}

func newCheckpoints() *checkpoints {
	return &checkpoints{files: map[fileID]*list.Element{}, longCatchUp: make(chan struct{}, longCatchUps)}
}

// fileMarks are the checkpoints of one message, by plain offset.
type fileMarks struct {
	id      fileID
	marks   []checkpoint
	bytes   int
	elem    *list.Element // nil once dropped from the store
	catchUp chan struct{} // one long catch-up of this file at a time (a lock that a context can give up on)
}

// file returns the checkpoints of id, making them if needed.
func (s *checkpoints) file(id fileID) *fileMarks {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.files[id]; ok {
		s.lru.MoveToFront(e)
		return e.Value.(*fileMarks)
	}
	f := &fileMarks{id: id, catchUp: make(chan struct{}, 1)}
	s.keep(f)
	return f
}

// keep puts f in the store, most recently used, then drops the least
// recently used files while over the memory cap.
func (s *checkpoints) keep(f *fileMarks) {
	f.elem = s.lru.PushFront(f)
	s.files[f.id] = f.elem
	f.bytes += fileCost
	s.bytes += fileCost
	s.trim()
}

// trim drops the least recently used files, never the most recent one,
// while over the memory cap.
func (s *checkpoints) trim() {
	for s.bytes > marksMemory && s.lru.Len() > 1 {
		s.drop(s.lru.Back().Value.(*fileMarks))
	}
}

// nearest returns the last checkpoint of f that ends at or before out
// bytes of message.
func (s *checkpoints) nearest(f *fileMarks, out int64) (checkpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(f.marks), func(i int) bool { return f.marks[i].out > out })
	if i == 0 {
		return checkpoint{}, false
	}
	return f.marks[i-1], true
}

// add records cp for f, unless it is known, then drops the checkpoints
// of the least recently used files while over the memory cap.
func (s *checkpoints) add(f *fileMarks, cp checkpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(f.marks), func(i int) bool { return f.marks[i].plain >= cp.plain })
	if i < len(f.marks) && f.marks[i].plain == cp.plain {
		return
	}
	if f.elem == nil { // dropped while it was being read
		if _, reopened := s.files[f.id]; reopened {
			return // the newer entry of this file keeps its checkpoints
		}
		s.keep(f)
	}
	f.marks = append(f.marks, checkpoint{})
	copy(f.marks[i+1:], f.marks[i:])
	f.marks[i] = cp
	f.bytes += cp.cost()
	s.bytes += cp.cost()
	s.trim()
}

// has reports whether f has a checkpoint at plain bytes of file.
func (s *checkpoints) has(f *fileMarks, plain int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(f.marks), func(i int) bool { return f.marks[i].plain >= plain })
	return i < len(f.marks) && f.marks[i].plain == plain
}

func (s *checkpoints) drop(f *fileMarks) {
	s.lru.Remove(f.elem)
	delete(s.files, f.id)
	f.elem = nil
	s.bytes -= f.bytes
	f.bytes = 0
	f.marks = nil
}
