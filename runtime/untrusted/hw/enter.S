/*
 * int scone_hw_vdso_call(fn, op, arg, run, leaf)
 *
 * __vdso_sgx_enter_enclave keeps only RBP and RBX; the scone enclave scrubs
 * every other register at EEXIT (enclave_abi.h), so R12-R15 and the MXCSR and
 * x87 control words are saved here for the C caller. The vDSO's seventh
 * argument (run) goes on the stack.
 */
	.text
	.globl	scone_hw_vdso_call
	.hidden	scone_hw_vdso_call
	.type	scone_hw_vdso_call, @function
scone_hw_vdso_call:
	.cfi_startproc
	push	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	.cfi_offset %rbx, -24
	.cfi_offset %r12, -32
	.cfi_offset %r13, -40
	.cfi_offset %r14, -48
	.cfi_offset %r15, -56
	sub	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)

	mov	%rdi, %rax		/* fn */
	mov	%rsi, %rdi		/* RDI = op */
	mov	%rdx, %rsi		/* RSI = arg */
	xor	%edx, %edx
	sub	$8, %rsp		/* 16-byte alignment at the call */
	push	%rcx			/* 7th argument: run */
	mov	%r8d, %ecx		/* EENTER or ERESUME */
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	call	*%rax

	add	$16, %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	scone_hw_vdso_call, . - scone_hw_vdso_call

	.section .note.GNU-stack, "", @progbits
