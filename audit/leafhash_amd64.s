//go:build amd64 && !purego

#include "textflag.h"

// Two SHA-256 compressions side by side with the SHA extensions: each
// SHA256RNDS2 waits for the one before it in its message, so the rounds
// of a second message run in the time the first leaves the unit idle.
// A state is kept as the instructions want it: ABEF (A in the top dword)
// and CDGH; X0 holds two rounds' message words plus constants.
//
// Lane a: state X1 (ABEF), X2 (CDGH), message words X3-X6, scratch X13.
// Lane b: state X7, X8, message words X9-X12, scratch X14.
// X15: the mask that reads big-endian words.

// RNDS4 runs rounds 4q to 4q+3 of both lanes with message words MA, MB.
#define RNDS4(q, MA, MB) \
	MOVOU (q*16)(AX), X0; \
	PADDD MA, X0; \
	SHA256RNDS2 X0, X1, X2; \
	PSHUFD $0x0e, X0, X0; \
	SHA256RNDS2 X0, X2, X1; \
	MOVOU (q*16)(AX), X0; \
	PADDD MB, X0; \
	SHA256RNDS2 X0, X7, X8; \
	PSHUFD $0x0e, X0, X0; \
	SHA256RNDS2 X0, X8, X7

// SCHED turns W0 (words 4s-12 to 4s-9) into words 4s+4 to 4s+7, from W1,
// W2, W3 (the next twelve words, through 4s+3).
#define SCHED(W0, W1, W2, W3, T) \
	SHA256MSG1 W1, W0; \
	MOVO W3, T; \
	PALIGNR $4, W2, T; \
	PADDD T, W0; \
	SHA256MSG2 W3, W0

// LOAD reads the q-th four words of both blocks.
#define LOAD(q, MA, MB) \
	MOVOU (q*16)(SI), MA; \
	PSHUFB X15, MA; \
	MOVOU (q*16)(DI), MB; \
	PSHUFB X15, MB

// STEP computes the next four words of both lanes and runs their rounds.
#define STEP(q, A0, A1, A2, A3, B0, B1, B2, B3) \
	SCHED(A0, A1, A2, A3, X13); \
	SCHED(B0, B1, B2, B3, X14); \
	RNDS4(q, A0, B0)

// func blocks2(k *[64]uint32, mask *[16]byte, a, b *[8]uint32, pa, pb *byte, n int)
TEXT ·blocks2(SB), NOSPLIT, $64-56
	MOVQ k+0(FP), AX
	MOVQ mask+8(FP), BX
	MOVQ a+16(FP), CX
	MOVQ b+24(FP), DX
	MOVQ pa+32(FP), SI
	MOVQ pb+40(FP), DI
	MOVQ n+48(FP), R8
	TESTQ R8, R8
	JZ   done
	MOVOU (BX), X15
	MOVOU (CX), X1
	MOVOU 16(CX), X2
	MOVOU (DX), X7
	MOVOU 16(DX), X8

loop:
	MOVOU X1, 0(SP)
	MOVOU X2, 16(SP)
	MOVOU X7, 32(SP)
	MOVOU X8, 48(SP)

	LOAD(0, X3, X9)
	RNDS4(0, X3, X9)
	LOAD(1, X4, X10)
	RNDS4(1, X4, X10)
	LOAD(2, X5, X11)
	RNDS4(2, X5, X11)
	LOAD(3, X6, X12)
	RNDS4(3, X6, X12)

	STEP(4, X3, X4, X5, X6, X9, X10, X11, X12)
	STEP(5, X4, X5, X6, X3, X10, X11, X12, X9)
	STEP(6, X5, X6, X3, X4, X11, X12, X9, X10)
	STEP(7, X6, X3, X4, X5, X12, X9, X10, X11)
	STEP(8, X3, X4, X5, X6, X9, X10, X11, X12)
	STEP(9, X4, X5, X6, X3, X10, X11, X12, X9)
	STEP(10, X5, X6, X3, X4, X11, X12, X9, X10)
	STEP(11, X6, X3, X4, X5, X12, X9, X10, X11)
	STEP(12, X3, X4, X5, X6, X9, X10, X11, X12)
	STEP(13, X4, X5, X6, X3, X10, X11, X12, X9)
	STEP(14, X5, X6, X3, X4, X11, X12, X9, X10)
	STEP(15, X6, X3, X4, X5, X12, X9, X10, X11)

	MOVOU 0(SP), X13
	PADDD X13, X1
	MOVOU 16(SP), X13
	PADDD X13, X2
	MOVOU 32(SP), X14
	PADDD X14, X7
	MOVOU 48(SP), X14
	PADDD X14, X8

	ADDQ $64, SI
	ADDQ $64, DI
	DECQ R8
	JNZ  loop

	MOVOU X1, (CX)
	MOVOU X2, 16(CX)
	MOVOU X7, (DX)
	MOVOU X8, 16(DX)

done:
	RET

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
