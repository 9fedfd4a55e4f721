package cardcrypt

import (
	"errors"
	"fmt"
	"io"
)

// maxDefinite is the longest body a definite-length packet header can
// announce. Longer bodies use partial lengths in fixed chunks, which
// keeps their size computable.
var maxDefinite int64 = 0xFFFFFFFF

// chunkBits sets the partial-length chunk size: 64 KiB.
const chunkBits = 16

const chunkSize = 1 << chunkBits

// lengthSize is the size of a new-format definite length header (RFC 4880, 4.2.2).
func lengthSize(n int64) int64 {
	switch {
	case n < 192:
		return 1
	case n < 8384:
		return 2
	}
	return 5
}

// writeLength writes a new-format definite length.
func writeLength(w io.ByteWriter, n int64) {
	switch {
	case n < 192:
		w.WriteByte(byte(n))
	case n < 8384:
		n -= 192
		w.WriteByte(byte(n>>8) + 192)
		w.WriteByte(byte(n))
	default:
		w.WriteByte(255)
		for shift := 24; shift >= 0; shift -= 8 {
			w.WriteByte(byte(n >> shift))
		}
	}
}

func lengthBytes(n int64) []byte {
	var b byteSlice
	writeLength(&b, n)
	return b
}

type byteSlice []byte

func (b *byteSlice) WriteByte(c byte) error {
	*b = append(*b, c)
	return nil
}

// packetSize is the size of a whole packet (tag, length, body) as
// bodyWriter writes it for a body of n bytes.
func packetSize(n int64) int64 {
	if n <= maxDefinite {
		return 1 + lengthSize(n) + n
	}
	chunks := (n - 1) / chunkSize
	last := n - chunks*chunkSize
	return 1 + chunks*(1+chunkSize) + lengthSize(last) + last
}

// bodyWriter writes one packet: the tag and a definite length when the
// body size is known and fits, else partial lengths in chunkSize pieces.
// With a known size the pieces are framed as they pass (their count and
// the last one's length are known), so the writer's state is a few
// numbers; with an unknown size the piece being filled is kept back.
type bodyWriter struct {
	w         io.Writer
	remaining int64  // known size: bytes still expected
	partial   bool   // partial lengths
	known     bool   // the size is known
	pieceLeft int64  // known size, partial: bytes left in the current piece
	framed    bool   // known size, partial: a piece has begun
	buf       []byte // unknown size: the chunk being filled
}

// newBodyWriter starts a packet with the given tag; size is the body
// length, or -1 when unknown.
func newBodyWriter(w io.Writer, tag byte, size int64) (*bodyWriter, error) {
	head := []byte{0xC0 | tag}
	bw := &bodyWriter{w: w, known: size >= 0, remaining: size}
	switch {
	case size > maxDefinite:
		bw.partial = true
	case size >= 0:
		head = append(head, lengthBytes(size)...)
	default:
		bw.partial = true
		bw.buf = make([]byte, 0, chunkSize)
	}
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	return bw, nil
}

var errTooLong = errors.New("more data than the packet length announced")

func (bw *bodyWriter) Write(p []byte) (int, error) {
	switch {
	case bw.known && int64(len(p)) > bw.remaining:
		return 0, errTooLong
	case !bw.partial:
		n, err := bw.w.Write(p)
		bw.remaining -= int64(n)
		return n, err
	case bw.known:
		return bw.writePieces(p)
	}
	written := 0
	for len(p) > 0 {
		if len(bw.buf) == chunkSize {
			if err := bw.flushChunk(); err != nil {
				return written, err
			}
		}
		n := copy(bw.buf[len(bw.buf):chunkSize], p)
		bw.buf = bw.buf[:len(bw.buf)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

// writePieces frames p in pieces of a known-size body: full chunks with
// a partial length, the last with its definite length, as packetSize
// counts them.
func (bw *bodyWriter) writePieces(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if bw.pieceLeft == 0 {
			head := []byte{0xE0 | chunkBits}
			bw.pieceLeft = chunkSize
			if bw.remaining <= chunkSize {
				head = lengthBytes(bw.remaining)
				bw.pieceLeft = bw.remaining
			}
			bw.framed = true
			if _, err := bw.w.Write(head); err != nil {
				return written, err
			}
		}
		n, err := bw.w.Write(p[:min(int64(len(p)), bw.pieceLeft)])
		bw.pieceLeft -= int64(n)
		bw.remaining -= int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (bw *bodyWriter) flushChunk() error {
	if _, err := bw.w.Write([]byte{0xE0 | chunkBits}); err != nil {
		return err
	}
	_, err := bw.w.Write(bw.buf)
	bw.buf = bw.buf[:0]
	return err
}

// Close ends the packet: the last partial piece, or a check that the
// definite body is complete.
func (bw *bodyWriter) Close() error {
	if bw.known {
		if bw.remaining != 0 {
			return fmt.Errorf("packet ended %d bytes short of its announced length", bw.remaining)
		}
		if bw.partial && !bw.framed { // an empty body still needs its one piece
			_, err := bw.w.Write(lengthBytes(0))
			return err
		}
		return nil
	}
	if _, err := bw.w.Write(lengthBytes(int64(len(bw.buf)))); err != nil {
		return err
	}
	_, err := bw.w.Write(bw.buf)
	return err
}
