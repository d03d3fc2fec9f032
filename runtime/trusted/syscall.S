/*
 * The enclave's __scone_syscall: the hook the patched musl calls in place of
 * `syscall`. ABI (fixed by libc_patch/arch/x86_64/syscall_arch.h): RAX =
 * number, RDI, RSI, RDX, R10, R8, R9 = arguments, result in RAX (-errno),
 * RCX, R11 and flags clobbered, everything else preserved; RSP need not be
 * 16-byte aligned. The C dispatcher is built with -mgeneral-regs-only, so
 * saving the caller-saved general registers is enough.
 */
	.text
	.globl __scone_syscall
	.hidden __scone_syscall
	.type __scone_syscall,@function
__scone_syscall:
	push %rbp
	mov %rsp, %rbp
	push %rdi
	push %rsi
	push %rdx
	push %r8
	push %r9
	push %r10
	sub $64, %rsp
	and $-16, %rsp
	/* struct scone_sc { nr, a[6] } */
	mov %rax, 0(%rsp)
	mov %rdi, 8(%rsp)
	mov %rsi, 16(%rsp)
	mov %rdx, 24(%rsp)
	mov %r10, 32(%rsp)
	mov %r8, 40(%rsp)
	mov %r9, 48(%rsp)
	mov %rsp, %rdi
	call __scone_dispatch
	lea -48(%rbp), %rsp
	pop %r10
	pop %r9
	pop %r8
	pop %rdx
	pop %rsi
	pop %rdi
	pop %rbp
	ret
	.size __scone_syscall, .-__scone_syscall

	.section .note.GNU-stack,"",@progbits
