/*
 * Stand-ins for the parts that need SGX, so the HW entry path runs here.
 *
 * fake_sgx_enter: the calling convention and exit behaviour of
 * __vdso_sgx_enter_enclave (sgx-spec.md §7), with an "enclave" that scrubs
 * RBX/R12-R15, changes the MXCSR and x87 rounding, and exits with RDI = op + 1, RSI = arg * 2,
 * or faults (#PF, error code 6, address 0xdead000) when op is 99.
 *
 * callee_saved_survive(fn, op, arg, run): loads marker values into RBX, RBP
 * and R12-R15, calls scone_hw_vdso_call, returns 1 if all survived.
 */
	.text
	.globl	fake_sgx_enter
	.type	fake_sgx_enter, @function
fake_sgx_enter:
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	mov	16(%rbp), %rbx		/* run */
	cmp	$2, %ecx		/* only EENTER in these tests */
	jne	.Linval
	mov	$40, %eax		/* reserved[216] must be zero */
1:	cmpq	$0, (%rbx, %rax)
	jne	.Linval
	add	$8, %rax
	cmp	$256, %rax
	jne	1b
	/* the "enclave" */
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	sub	$8, %rsp
	movl	$0x7f80, (%rsp)		/* round toward zero, all masked */
	ldmxcsr	(%rsp)
	movw	$0x0f7f, (%rsp)		/* x87: round toward zero */
	fldcw	(%rsp)
	add	$8, %rsp
	cmp	$99, %rdi
	je	.Lfault
	add	$1, %rdi
	shl	$1, %rsi
	movl	$4, 8(%rbx)		/* EEXIT */
	jmp	.Lhandler
.Lfault:
	movl	$2, 8(%rbx)		/* faulted during EENTER */
	movw	$14, 12(%rbx)
	movw	$6, 14(%rbx)
	movq	$0xdead000, 16(%rbx)
.Lhandler:
	cmpq	$0, 24(%rbx)
	je	.Lzero
	mov	%rsp, %rcx
	mov	%rbx, %rax
	and	$-16, %rsp
	push	%rax
	push	%rax
	cld
	call	*24(%rax)
	jmp	.Lout
.Lzero:
	xor	%eax, %eax
	jmp	.Lout
.Linval:
	mov	$-22, %eax
.Lout:
	lea	-8(%rbp), %rsp
	pop	%rbx
	pop	%rbp
	ret
	.size	fake_sgx_enter, . - fake_sgx_enter

	.globl	callee_saved_survive
	.type	callee_saved_survive, @function
callee_saved_survive:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	sub	$8, %rsp
	mov	$0x1b1b1b1b, %ebx
	mov	$0x2b2b2b2b, %ebp
	mov	$0x12121212, %r12d
	mov	$0x13131313, %r13d
	mov	$0x14141414, %r14d
	mov	$0x15151515, %r15d
	mov	$2, %r8d		/* leaf: EENTER */
	call	scone_hw_vdso_call
	xor	%eax, %eax
	cmp	$0x1b1b1b1b, %rbx
	jne	2f
	cmp	$0x2b2b2b2b, %rbp
	jne	2f
	cmp	$0x12121212, %r12
	jne	2f
	cmp	$0x13131313, %r13
	jne	2f
	cmp	$0x14141414, %r14
	jne	2f
	cmp	$0x15151515, %r15
	jne	2f
	mov	$1, %eax
2:	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size	callee_saved_survive, . - callee_saved_survive

	.section .note.GNU-stack, "", @progbits
