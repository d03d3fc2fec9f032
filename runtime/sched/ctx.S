/*
 * Context switches between lthreads and the scheduler loop. A saved context
 * is one stack pointer; the word at it is the address of the code that
 * resumes it (as entry.S resumes an OCALL), so a context saved with or
 * without the vector state, a new clone child and a new scheduler loop are
 * all resumed by `mov sp, %rsp; ret`.
 *
 * No GOT, no TLS: FS is the next lthread's by the time we get here.
 */
#include <scone/xsave_asm.h>
#define X87_TOP 0x3800             /* FSW bits 13:11 */

	.text

/* void __scone_ctx_swap(void **save, void *load): the C ABI's callee-saved
 * registers, MXCSR and the x87 control word. */
	.globl __scone_ctx_swap
	.hidden __scone_ctx_swap
	.type __scone_ctx_swap,@function
__scone_ctx_swap:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	lea .Lresume(%rip), %rax
	push %rax
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	ret
.Lresume:
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size __scone_ctx_swap, .-__scone_ctx_swap

/* void __scone_ctx_swap_x(void **save, void *load): as above plus the
 * vector state, kept on the saved stack: the hook ABI promises an lthread
 * that parks in a system call every vector register back.
 *
 * Fast path (when XGETBV(1) exists): if XINUSE says every component but
 * x87 and SSE is in its initial state, and the x87 stack is empty (TOP = 0:
 * nothing live there, as at any call), xmm0-15, MXCSR and the x87 control
 * word are all there is to keep; the resume puts what another lthread
 * left in use (AVX, a non-empty x87 stack) back to its initial state
 * first. Otherwise the whole XSAVE state (not AMX). Any musl program that
 * printed a float has x87 in use for good, hence the TOP test rather than
 * XINUSE for x87.
 */
	.globl __scone_ctx_swap_x
	.hidden __scone_ctx_swap_x
	.type __scone_ctx_swap_x,@function
__scone_ctx_swap_x:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rbx
	cmpb $0, __scone_ctx_fast(%rip)
	je .Lfull
	mov $1, %ecx
	xgetbv
	test __scone_ctx_xmask(%rip), %eax
	jnz .Lfull
	fnstsw %ax
	test $X87_TOP, %ax
	jnz .Lfull
	sub $272, %rsp
	and $-16, %rsp
	SSE_SAVE
	push %rbx
	lea .Lresume_fast(%rip), %rax
	push %rax
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	ret

.Lfull:
	sub $XSAVE_SIZE, %rsp
	and $-64, %rsp
	XSAVE_HEADER_ZERO
	XSAVE_MASK
	/* XSAVEC skips components in their initial state. */
	cmpb $0, __scone_ctx_xsavec(%rip)
	je 1f
	xsavec64 (%rsp)
	jmp 2f
1:	xsave64 (%rsp)
2:	push %rbx
	lea .Lresume_x(%rip), %rax
	push %rax
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	ret

.Lresume_x:
	pop %rbx
	XSAVE_MASK
	xrstor64 (%rsp)
	jmp .Lpop

.Lresume_fast:
	pop %rbx
	mov $1, %ecx
	xgetbv
	test __scone_ctx_xmask(%rip), %eax
	jnz 2f
	fnstsw %ax
	test $X87_TOP, %ax
	jz 1f
2:	call .Linit_state
1:	SSE_LOAD
.Lpop:
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* Every XSAVE component (not AMX) back to its initial state: XRSTOR of a
 * zero area (XSTATE_BV = 0; MXCSR 0 until the caller loads its own). */
.Linit_state:
	XSAVE_MASK
	xrstor64 __scone_ctx_init_area(%rip)
	ret
	.size __scone_ctx_swap_x, .-__scone_ctx_swap_x

/*
 * First resumption of a clone child (thread.c builds the frame): the stack
 * holds struct scone_clone_regs, then MXCSR and the x87 CW. Finish the
 * switch, then "return from the hook" as a raw clone would: RSP = the child
 * stack (RSI), RAX = 0, every other register as the parent passed it.
 */
	.globl __scone_clone_boot
	.hidden __scone_clone_boot
	.type __scone_clone_boot,@function
__scone_clone_boot:
	mov %rsp, %rbx
	and $-16, %rsp
	call __scone_sched_after_switch
	/* As at any function entry: no x87 values, no vector state left by
	 * the lthread that ran before; the parent's MXCSR and x87 CW. */
	call .Linit_state
	ldmxcsr 96(%rbx)
	fldcw 100(%rbx)
	mov 0(%rbx), %rdi
	mov 16(%rbx), %rdx
	mov 24(%rbx), %r10
	mov 32(%rbx), %r8
	mov 40(%rbx), %r9
	mov 56(%rbx), %rbp
	mov 64(%rbx), %r12
	mov 72(%rbx), %r13
	mov 80(%rbx), %r14
	mov 88(%rbx), %r15
	mov 8(%rbx), %rsi
	mov %rsi, %rsp
	mov 48(%rbx), %rbx
	xor %eax, %eax
	ret
	.size __scone_clone_boot, .-__scone_clone_boot

/* Set by __scone_sched_init from what the embedder reports (CPUID does
 * not run in an enclave; a false claim only faults this enclave). */
	.bss
	.globl __scone_ctx_xsavec
	.hidden __scone_ctx_xsavec
__scone_ctx_xsavec:                /* XSAVEC exists */
	.byte 0
	.globl __scone_ctx_fast
	.hidden __scone_ctx_fast
__scone_ctx_fast:                  /* XGETBV(1) exists: the fast path */
	.byte 0
	.balign 4
	.globl __scone_ctx_xmask
	.hidden __scone_ctx_xmask
__scone_ctx_xmask:                 /* XCR0 but x87, SSE, AMX: "in use" means slow */
	.long 0
	.balign 64
__scone_ctx_init_area:
	.zero 576

	.section .note.GNU-stack,"",@progbits
