//go:build !purego

#include "textflag.h"

// func cfbEncryptAESNI(xk *[240]byte, reg *[16]byte, dst, src *byte, blocks int)
//
// CFB encryption with AES-256: C[i] = P[i] ^ E(C[i-1]). Only the 14 rounds
// of each block are on the dependency chain. The first round key is folded
// into the chain: X0 holds C ^ rk0 (the input of round 1), and the last
// round takes rk14 ^ rk0 ^ P, so AESENCLAST gives the next C ^ rk0 at once;
// C itself is recovered off the chain for the store.
TEXT ·cfbEncryptAESNI(SB), NOSPLIT, $0-40
	MOVQ xk+0(FP), AX
	MOVQ reg+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ blocks+32(FP), CX

	MOVOU 16(AX), X1
	MOVOU 32(AX), X2
	MOVOU 48(AX), X3
	MOVOU 64(AX), X4
	MOVOU 80(AX), X5
	MOVOU 96(AX), X6
	MOVOU 112(AX), X7
	MOVOU 128(AX), X8
	MOVOU 144(AX), X9
	MOVOU 160(AX), X10
	MOVOU 176(AX), X11
	MOVOU 192(AX), X12
	MOVOU 208(AX), X13
	MOVOU 224(AX), X14
	MOVOU 0(AX), X15
	PXOR  X15, X14     // rk14 ^ rk0
	MOVOU (BX), X0
	PXOR  X15, X0      // C ^ rk0

loop:
	AESENC     X1, X0
	AESENC     X2, X0
	AESENC     X3, X0
	AESENC     X4, X0
	AESENC     X5, X0
	AESENC     X6, X0
	AESENC     X7, X0
	AESENC     X8, X0
	AESENC     X9, X0
	AESENC     X10, X0
	AESENC     X11, X0
	AESENC     X12, X0
	AESENC     X13, X0
	MOVOU      (SI), X15
	PXOR       X14, X15  // P ^ rk14 ^ rk0
	AESENCLAST X15, X0   // next C ^ rk0
	MOVOU      0(AX), X15
	PXOR       X0, X15   // next C
	MOVOU      X15, (DI)
	ADDQ       $16, SI
	ADDQ       $16, DI
	DECQ       CX
	JNZ        loop

	MOVOU X15, (BX)
	RET

// func cfbSHA1AESNI(xk *[240]byte, reg *[16]byte, h *[5]uint32, dst, src *byte, chunks int)
//
// The CFB loop above with SHA-1 stitched in: for each 64 bytes, four AES
// blocks are encrypted and the same 64 bytes of plaintext are hashed. The
// SHA-1 rounds (SHA instructions) run in the cycles the AES dependency
// chain leaves idle, so the hash costs next to nothing. The SHA-1 state
// is ABCD in X2 (A in the top lane) and E in the top lane of X3; X4 takes
// turns with X3 as the E operand; X5-X8 hold the message schedule, X9 the
// byte-swap mask, X10/X11 the state at the start of the block. AES: X0 is
// C ^ rk0 as in cfbEncryptAESNI, X14 rk0, X15 rk14 ^ rk0, round keys are
// loaded into X12/X13 as they are needed. src is read (all 64 bytes) before
// dst is written, so dst may be src. src 1 KiB ahead is prefetched: the
// pipeline's chunks were just written by the reader on another core, and
// a load that misses stalls the AES chain, as only about one iteration
// fits in the out-of-order window (BenchmarkViewRead: about +10%).
TEXT ·cfbSHA1AESNI(SB), NOSPLIT, $0-48
	MOVQ xk+0(FP), AX
	MOVQ reg+8(FP), BX
	MOVQ h+16(FP), DX
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), SI
	MOVQ chunks+40(FP), CX

	MOVOU  bswapMask<>(SB), X9
	MOVOU  (DX), X2
	PSHUFD $0x1b, X2, X2 // A B C D, A on top
	PXOR   X3, X3
	PINSRD $3, 16(DX), X3 // E on top
	MOVOU  0(AX), X14
	MOVOU  224(AX), X15
	PXOR   X14, X15
	MOVOU  (BX), X0
	PXOR   X14, X0

loop:
	PREFETCHT0 1024(SI)
	MOVO   X2, X10
	MOVO   X3, X11
	MOVOU  0(SI), X5
	PSHUFB X9, X5
	MOVOU  16(SI), X6
	PSHUFB X9, X6
	MOVOU  32(SI), X7
	PSHUFB X9, X7
	MOVOU  48(SI), X8
	PSHUFB X9, X8

	// AES block 0, SHA-1 rounds 0-19
	MOVOU      16(AX), X12
	AESENC     X12, X0
	PADDD      X5, X3
	MOVO       X2, X4
	MOVOU      32(AX), X13
	AESENC     X13, X0
	SHA1RNDS4  $0, X3, X2
	SHA1NEXTE  X6, X4
	MOVOU      48(AX), X12
	AESENC     X12, X0
	MOVO       X2, X3
	SHA1RNDS4  $0, X4, X2
	MOVOU      64(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X7, X3
	MOVO       X2, X4
	MOVOU      80(AX), X12
	AESENC     X12, X0
	SHA1RNDS4  $0, X3, X2
	SHA1NEXTE  X8, X4
	MOVOU      96(AX), X13
	AESENC     X13, X0
	MOVO       X2, X3
	SHA1RNDS4  $0, X4, X2
	MOVOU      112(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X6, X5
	PXOR       X7, X5
	MOVOU      128(AX), X13
	AESENC     X13, X0
	SHA1MSG2   X8, X5
	SHA1NEXTE  X5, X3
	MOVOU      144(AX), X12
	AESENC     X12, X0
	MOVO       X2, X4
	SHA1RNDS4  $0, X3, X2
	MOVOU      160(AX), X13
	AESENC     X13, X0
	MOVOU      176(AX), X12
	AESENC     X12, X0
	MOVOU      192(AX), X13
	AESENC     X13, X0
	MOVOU      208(AX), X12
	AESENC     X12, X0
	MOVOU      0(SI), X1
	PXOR       X15, X1
	AESENCLAST X1, X0
	MOVO       X14, X1
	PXOR       X0, X1
	MOVOU      X1, 0(DI)

	// AES block 1, SHA-1 rounds 20-39
	MOVOU      16(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X7, X6
	PXOR       X8, X6
	SHA1MSG2   X5, X6
	MOVOU      32(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X6, X4
	MOVO       X2, X3
	SHA1RNDS4  $1, X4, X2
	MOVOU      48(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X8, X7
	PXOR       X5, X7
	SHA1MSG2   X6, X7
	MOVOU      64(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X7, X3
	MOVO       X2, X4
	SHA1RNDS4  $1, X3, X2
	MOVOU      80(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X5, X8
	PXOR       X6, X8
	SHA1MSG2   X7, X8
	MOVOU      96(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X8, X4
	MOVO       X2, X3
	SHA1RNDS4  $1, X4, X2
	MOVOU      112(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X6, X5
	PXOR       X7, X5
	SHA1MSG2   X8, X5
	MOVOU      128(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X5, X3
	MOVO       X2, X4
	SHA1RNDS4  $1, X3, X2
	MOVOU      144(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X7, X6
	PXOR       X8, X6
	SHA1MSG2   X5, X6
	MOVOU      160(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X6, X4
	MOVO       X2, X3
	SHA1RNDS4  $1, X4, X2
	MOVOU      176(AX), X12
	AESENC     X12, X0
	MOVOU      192(AX), X13
	AESENC     X13, X0
	MOVOU      208(AX), X12
	AESENC     X12, X0
	MOVOU      16(SI), X1
	PXOR       X15, X1
	AESENCLAST X1, X0
	MOVO       X14, X1
	PXOR       X0, X1
	MOVOU      X1, 16(DI)

	// AES block 2, SHA-1 rounds 40-59
	MOVOU      16(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X8, X7
	PXOR       X5, X7
	SHA1MSG2   X6, X7
	MOVOU      32(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X7, X3
	MOVO       X2, X4
	SHA1RNDS4  $2, X3, X2
	MOVOU      48(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X5, X8
	PXOR       X6, X8
	SHA1MSG2   X7, X8
	MOVOU      64(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X8, X4
	MOVO       X2, X3
	SHA1RNDS4  $2, X4, X2
	MOVOU      80(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X6, X5
	PXOR       X7, X5
	SHA1MSG2   X8, X5
	MOVOU      96(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X5, X3
	MOVO       X2, X4
	SHA1RNDS4  $2, X3, X2
	MOVOU      112(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X7, X6
	PXOR       X8, X6
	SHA1MSG2   X5, X6
	MOVOU      128(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X6, X4
	MOVO       X2, X3
	SHA1RNDS4  $2, X4, X2
	MOVOU      144(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X8, X7
	PXOR       X5, X7
	SHA1MSG2   X6, X7
	MOVOU      160(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X7, X3
	MOVO       X2, X4
	SHA1RNDS4  $2, X3, X2
	MOVOU      176(AX), X12
	AESENC     X12, X0
	MOVOU      192(AX), X13
	AESENC     X13, X0
	MOVOU      208(AX), X12
	AESENC     X12, X0
	MOVOU      32(SI), X1
	PXOR       X15, X1
	AESENCLAST X1, X0
	MOVO       X14, X1
	PXOR       X0, X1
	MOVOU      X1, 32(DI)

	// AES block 3, SHA-1 rounds 60-79
	MOVOU      16(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X5, X8
	PXOR       X6, X8
	SHA1MSG2   X7, X8
	MOVOU      32(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X8, X4
	MOVO       X2, X3
	SHA1RNDS4  $3, X4, X2
	MOVOU      48(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X6, X5
	PXOR       X7, X5
	SHA1MSG2   X8, X5
	MOVOU      64(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X5, X3
	MOVO       X2, X4
	SHA1RNDS4  $3, X3, X2
	MOVOU      80(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X7, X6
	PXOR       X8, X6
	SHA1MSG2   X5, X6
	MOVOU      96(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X6, X4
	MOVO       X2, X3
	SHA1RNDS4  $3, X4, X2
	MOVOU      112(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X8, X7
	PXOR       X5, X7
	SHA1MSG2   X6, X7
	MOVOU      128(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X7, X3
	MOVO       X2, X4
	SHA1RNDS4  $3, X3, X2
	MOVOU      144(AX), X12
	AESENC     X12, X0
	SHA1MSG1   X5, X8
	PXOR       X6, X8
	SHA1MSG2   X7, X8
	MOVOU      160(AX), X13
	AESENC     X13, X0
	SHA1NEXTE  X8, X4
	MOVO       X2, X3
	SHA1RNDS4  $3, X4, X2
	MOVOU      176(AX), X12
	AESENC     X12, X0
	MOVOU      192(AX), X13
	AESENC     X13, X0
	MOVOU      208(AX), X12
	AESENC     X12, X0
	MOVOU      48(SI), X1
	PXOR       X15, X1
	AESENCLAST X1, X0
	MOVO       X14, X1
	PXOR       X0, X1
	MOVOU      X1, 48(DI)

	// The next E is rotl(A, 30) of the state before rounds 76-79 (in X3)
	// plus the E of the block's start; ABCD adds its start.
	SHA1NEXTE X11, X3
	PADDD     X10, X2

	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop

	PSHUFD $0x1b, X2, X2
	MOVOU  X2, (DX)
	PEXTRD $3, X3, 16(DX)
	MOVOU  X1, (BX) // the last ciphertext block
	RET

// Reverses the 16 bytes of a register: four big-endian message words,
// the first on top.
DATA bswapMask<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+8(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), RODATA|NOPTR, $16

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET
