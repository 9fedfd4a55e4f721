package cardcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"sync"
)

// cfbCipher is AES-256 for the CFB loop of a SEIPD v1 body. CFB encryption
// is serial, every block waiting for the one before, so it is bound by the
// latency of one block encryption. Where the CPU has AES instructions, a
// loop in assembly keeps the round keys and the feedback in registers;
// elsewhere crypto/aes encrypts the feedback block in place.
type cfbCipher struct {
	block cipher.Block
	xk    *[240]byte // AES-256 round keys for the assembly loop, or nil
}

func newCFBCipher(key []byte) (*cfbCipher, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	ci := &cfbCipher{block: block}
	if useAESNI && len(key) == 32 {
		xk := expandKey256(key)
		ci.xk = &xk
	}
	return ci, nil
}

// encrypt replaces reg with its encryption.
func (ci *cfbCipher) encrypt(reg *[aes.BlockSize]byte) {
	ci.block.Encrypt(reg[:], reg[:])
}

// encryptBlocks encrypts src into dst in CFB mode, whole blocks only
// (len(src) a multiple of the block size, dst as long). reg holds the
// previous ciphertext block on entry and the last one on return.
func (ci *cfbCipher) encryptBlocks(reg *[aes.BlockSize]byte, dst, src []byte) {
	n := len(src) / aes.BlockSize
	if n == 0 {
		return
	}
	dst = dst[:n*aes.BlockSize]
	if ci.xk != nil {
		cfbEncryptAESNI(ci.xk, reg, &dst[0], &src[0], n)
		return
	}
	le := binary.LittleEndian
	for i := 0; i < len(dst); i += aes.BlockSize {
		ci.block.Encrypt(reg[:], reg[:])
		r0 := le.Uint64(reg[0:]) ^ le.Uint64(src[i:])
		r1 := le.Uint64(reg[8:]) ^ le.Uint64(src[i+8:])
		le.PutUint64(dst[i:], r0)
		le.PutUint64(dst[i+8:], r1)
		le.PutUint64(reg[0:], r0)
		le.PutUint64(reg[8:], r1)
	}
}

// expandKey256 is the AES-256 key schedule (FIPS 197, 5.2): 15 round keys
// of 16 bytes, in the byte order the AES instructions take.
func expandKey256(key []byte) (xk [240]byte) {
	sbox := sboxTable()
	copy(xk[:32], key)
	rcon := byte(1)
	for i := 32; i < len(xk); i += 4 {
		t := [4]byte(xk[i-4 : i])
		switch i % 32 {
		case 0: // RotWord, SubWord, Rcon
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = gfMul(rcon, 2)
		case 16: // SubWord
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for j := range t {
			xk[i+j] = xk[i-32+j] ^ t[j]
		}
	}
	return xk
}

// sboxTable is the AES S-box, computed from its definition (FIPS 197,
// 5.1.1): the inverse in GF(2^8), then the affine transformation.
var sboxTable = sync.OnceValue(func() (s [256]byte) {
	for x := range 256 {
		b := gfInverse(byte(x))
		s[x] = b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63
	}
	return s
})

func rotl8(b byte, n uint) byte { return b<<n | b>>(8-n) }

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
func gfMul(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1B
		}
	}
	return p
}

// gfInverse is a^254, the multiplicative inverse of a (0 for 0).
func gfInverse(a byte) byte {
	r, sq := byte(1), a
	for e := 254; e > 0; e >>= 1 {
		if e&1 != 0 {
			r = gfMul(r, sq)
		}
		sq = gfMul(sq, sq)
	}
	return r
}
