//go:build !purego

package cardcrypt

import "golang.org/x/sys/cpu"

// useAESNI selects the assembly CFB loop.
var useAESNI = cpu.X86.HasAES

// useStitched selects the loop that hashes the plaintext with the SHA
// instructions (CPUID leaf 7, EBX bit 29) while it encrypts.
var useStitched = useAESNI && cpu.X86.HasSSSE3 && cpu.X86.HasSSE41 && hasSHA()

func hasSHA() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// cfbEncryptAESNI encrypts blocks (at least one) 16-byte blocks from src
// to dst in CFB mode with the AES-256 round keys xk; reg holds the
// previous ciphertext block on entry and the last one on return.
//
//go:noescape
func cfbEncryptAESNI(xk *[240]byte, reg *[16]byte, dst, src *byte, blocks int)

// cfbSHA1AESNI is cfbEncryptAESNI over chunks (at least one) 64-byte
// chunks that also runs the SHA-1 compression function h over the
// plaintext.
//
//go:noescape
func cfbSHA1AESNI(xk *[240]byte, reg *[16]byte, h *[5]uint32, dst, src *byte, chunks int)
