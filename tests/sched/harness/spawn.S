/* long harness_spawn(void *stack_top, void (*fn)(void *), void *arg): a raw
 * CLONE_THREAD OS thread (ethread or stand-in sthread) with no TLS of its
 * own; it never returns into C, it exits. */
	.text
	.globl harness_spawn
	.type harness_spawn,@function
harness_spawn:
	and $-16, %rdi
	sub $16, %rdi
	mov %rsi, (%rdi)
	mov %rdx, 8(%rdi)
	mov %rdi, %rsi
	mov $0x50f00, %edi        /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM */
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	mov $56, %eax
	syscall
	test %rax, %rax
	jnz 1f
	pop %rax
	pop %rdi
	xor %ebp, %ebp
	call *%rax
	mov $60, %eax
	xor %edi, %edi
	syscall
	hlt
1:	ret
	.size harness_spawn, .-harness_spawn

/*
 * The harness's __scone_syscall, shaped like runtime/trusted/syscall.S (hook
 * ABI: runtime/include/scone/hook.h), but the frame also carries the
 * caller's callee-saved registers so that a clone child starts with them.
 */
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
	sub $112, %rsp
	and $-16, %rsp
	mov %rax, 0(%rsp)
	mov %rdi, 8(%rsp)
	mov %rsi, 16(%rsp)
	mov %rdx, 24(%rsp)
	mov %r10, 32(%rsp)
	mov %r8, 40(%rsp)
	mov %r9, 48(%rsp)
	mov %rbx, 56(%rsp)
	mov 0(%rbp), %rax
	mov %rax, 64(%rsp)
	mov %r12, 72(%rsp)
	mov %r13, 80(%rsp)
	mov %r14, 88(%rsp)
	mov %r15, 96(%rsp)
	mov %rsp, %rdi
	call harness_dispatch
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
