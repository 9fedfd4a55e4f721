package cardcrypt

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// sha1State is SHA-1 (FIPS 180-4) with its chaining value in the open, so
// that the CFB loop can run the compression function on whole 64-byte
// blocks while it encrypts them. Partial blocks, at the start and end of
// a message, go through the portable compression function here.
type sha1State struct {
	h    [5]uint32
	buf  [64]byte
	nbuf int
	len  uint64 // bytes hashed
}

func newSHA1State() *sha1State {
	return &sha1State{h: [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}}
}

// Write hashes p; it never fails.
func (s *sha1State) Write(p []byte) (int, error) {
	n := len(p)
	s.len += uint64(n)
	if s.nbuf > 0 {
		k := copy(s.buf[s.nbuf:], p)
		s.nbuf += k
		p = p[k:]
		if s.nbuf < len(s.buf) {
			return n, nil
		}
		sha1Block(&s.h, s.buf[:])
		s.nbuf = 0
	}
	for len(p) >= 64 {
		sha1Block(&s.h, p[:64])
		p = p[64:]
	}
	s.nbuf = copy(s.buf[:], p)
	return n, nil
}

// Sum appends the hash to b; s is left as it was.
func (s *sha1State) Sum(b []byte) []byte {
	d := *s
	var pad [72]byte
	pad[0] = 0x80
	k := 1 + (55-d.len)%64 // 0x80, zeros, to 56 mod 64
	binary.BigEndian.PutUint64(pad[k:], d.len*8)
	d.Write(pad[:k+8])
	for _, v := range d.h {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// sha1Block is the SHA-1 compression function on one 64-byte block.
func sha1Block(h *[5]uint32, p []byte) {
	var w [80]uint32
	for i := range 16 {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	for i := 16; i < 80; i++ {
		w[i] = bits.RotateLeft32(w[i-3]^w[i-8]^w[i-14]^w[i-16], 1)
	}
	a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
	for i, wi := range w {
		var f, k uint32
		switch {
		case i < 20:
			f, k = b&c|^b&d, 0x5A827999
		case i < 40:
			f, k = b^c^d, 0x6ED9EBA1
		case i < 60:
			f, k = b&c|b&d|c&d, 0x8F1BBCDC
		default:
			f, k = b^c^d, 0xCA62C1D6
		}
		t := bits.RotateLeft32(a, 5) + f + e + k + wi
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
}

// sha1Marshaled is the size of a marshaled sha1State.
const sha1Marshaled = 5*4 + 8 + 64

// MarshalBinary records the state, for a checkpoint.
func (s *sha1State) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, sha1Marshaled)
	for _, v := range s.h {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = binary.BigEndian.AppendUint64(b, s.len)
	return append(b, s.buf[:s.nbuf]...), nil
}

// UnmarshalBinary restores a state MarshalBinary recorded.
func (s *sha1State) UnmarshalBinary(b []byte) error {
	if len(b) < 28 || len(b) > sha1Marshaled {
		return errors.New("not a SHA-1 state")
	}
	for i := range s.h {
		s.h[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	s.len = binary.BigEndian.Uint64(b[20:])
	s.nbuf = copy(s.buf[:], b[28:])
	if uint64(s.nbuf) != s.len%64 {
		return errors.New("not a SHA-1 state")
	}
	return nil
}
