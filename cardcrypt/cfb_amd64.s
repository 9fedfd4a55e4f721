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
