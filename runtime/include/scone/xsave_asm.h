/*
 * XSAVE helpers for the assembly that saves and restores a thread's vector
 * state (runtime/trusted/entry.S around OCALLs, runtime/sched/ctx.S when an
 * lthread parks). Assembly only.
 */
#ifndef SCONE_XSAVE_ASM_H
#define SCONE_XSAVE_ASM_H

#define XSAVE_SIZE 4096            /* covers every component but AMX */
#define AMX_BITS 0x60000           /* XCR0 bits 17-18: never saved here */

/* XSAVE(C) writes XSTATE_BV (and XCOMP_BV) only: the rest of the 64-byte
 * header at offset 512 of the area at %rsp must be zero. Clobbers %rax. */
.macro XSAVE_HEADER_ZERO
	xor %eax, %eax
	.irp off, 512, 520, 528, 536, 544, 552, 560, 568
	mov %rax, \off(%rsp)
	.endr
.endm

/* EDX:EAX = the XCR0 components to save or restore (AMX left out).
 * Clobbers %rcx. */
.macro XSAVE_MASK
	xor %ecx, %ecx
	xgetbv
	and $~AMX_BITS, %eax
.endm

/* The SSE-only state (what most code leaves in use: XMM0-15, MXCSR, the
 * x87 control word) at (%rsp), 16-byte aligned, 264 bytes: the cheap save
 * where no AVX or x87 stack state is live. */
.macro SSE_SAVE
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movaps %xmm\n, \n*16(%rsp)
	.endr
	stmxcsr 256(%rsp)
	fnstcw 260(%rsp)
.endm

.macro SSE_LOAD
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movaps \n*16(%rsp), %xmm\n
	.endr
	ldmxcsr 256(%rsp)
	fldcw 260(%rsp)
.endm

#endif
