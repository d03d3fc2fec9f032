/*
 * Context switches between lthreads and the scheduler loop. A saved context
 * is one stack pointer; the word at it is the address of the code that
 * resumes it (as entry.S resumes an OCALL), so a context saved with or
 * without the vector state, a new clone child and a new scheduler loop are
 * all resumed by `mov sp, %rsp; ret`.
 *
 * No GOT, no TLS: FS is the next lthread's by the time we get here.
 */
#define XSAVE_SIZE 4096
#define AMX_BITS 0x60000

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

/* void __scone_ctx_swap_x(void **save, void *load): as above plus the whole
 * XSAVE state (x87, SSE with MXCSR, AVX, ...; not AMX), kept on the saved
 * stack: the hook ABI promises an lthread that parks in a system call every
 * vector register back. */
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
	sub $XSAVE_SIZE, %rsp
	and $-64, %rsp
	/* XSAVE writes XSTATE_BV only; the rest of the header must be zero. */
	xor %eax, %eax
	mov %rax, 512(%rsp)
	mov %rax, 520(%rsp)
	mov %rax, 528(%rsp)
	mov %rax, 536(%rsp)
	mov %rax, 544(%rsp)
	mov %rax, 552(%rsp)
	mov %rax, 560(%rsp)
	mov %rax, 568(%rsp)
	xor %ecx, %ecx
	xgetbv
	and $~AMX_BITS, %eax
	/* XSAVEC skips components in their initial state (AVX after
	 * vzeroupper, AVX-512 unused): most of the cost otherwise. */
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
	xor %ecx, %ecx
	xgetbv
	and $~AMX_BITS, %eax
	xrstor64 (%rsp)
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
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

/* Set by scone_sched_init when the embedder says XSAVEC exists (CPUID is
 * not available in an enclave; a false claim only faults this enclave). */
	.bss
	.globl __scone_ctx_xsavec
	.hidden __scone_ctx_xsavec
__scone_ctx_xsavec:
	.byte 0

	.section .note.GNU-stack,"",@progbits
