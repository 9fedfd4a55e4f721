//go:build !purego

package cardcrypt

import "golang.org/x/sys/cpu"

// useAESNI selects the assembly CFB loop.
var useAESNI = cpu.X86.HasAES

// cfbEncryptAESNI encrypts blocks (at least one) 16-byte blocks from src
// to dst in CFB mode with the AES-256 round keys xk; reg holds the
// previous ciphertext block on entry and the last one on return.
//
//go:noescape
func cfbEncryptAESNI(xk *[240]byte, reg *[16]byte, dst, src *byte, blocks int)
