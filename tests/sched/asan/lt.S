/*
 * lt_spawn(fn, arg, stack_top, ctid): create an lthread as musl's __clone
 * does through the hook (hook.h "clone"): the child stack holds the
 * address to continue at and the argument; the child starts there with
 * RAX = 0 and R9 = fn, calls fn(arg), and exits with its result.
 */
	.text
	.globl lt_spawn
	.type lt_spawn,@function
lt_spawn:
	push %rbx
	sub $96, %rsp              /* struct scone_clone_regs */
	and $-16, %rdx
	sub $8, %rdx
	mov %rsi, (%rdx)           /* arg */
	sub $8, %rdx
	lea 1f(%rip), %rax
	mov %rax, (%rdx)           /* where the child continues */
	movq $0x250f00, 0(%rsp)    /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|CHILD_CLEARTID */
	mov %rdx, 8(%rsp)          /* rsi: the child stack */
	movq $0, 16(%rsp)
	mov %rcx, 24(%rsp)         /* r10: ctid */
	movq $0, 32(%rsp)
	mov %rdi, 40(%rsp)         /* r9: fn */
	movq $0, 48(%rsp)
	movq $0, 56(%rsp)
	movq $0, 64(%rsp)
	movq $0, 72(%rsp)
	movq $0, 80(%rsp)
	movq $0, 88(%rsp)
	mov %rsp, %rdi
	call __scone_sched_clone
	add $96, %rsp
	pop %rbx
	ret
1:	test %eax, %eax
	jnz 2f
	xor %ebp, %ebp
	pop %rdi
	call *%r9
	mov %eax, %edi
	call __scone_sched_exit
2:	hlt
	.size lt_spawn, .-lt_spawn

	.section .note.GNU-stack,"",@progbits
