/*
 * Calls __scone_syscall(getpid) with every register set to a known value and
 * RSP deliberately misaligned, then checks the hook ABI: result in RAX, only
 * RCX, R11 (and flags) changed. Exit status 0 = ABI kept, else the number of
 * the first register found changed. Independent of the C compiler's choices.
 */
	.text
	.globl main
	.type main,@function
main:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8,%rsp                 /* misalign: the hook may not assume 16 */
	mov $0x1111111111111111,%rbx
	mov $0x2222222222222222,%rbp
	mov $0x3333333333333333,%rdx
	mov $0x4444444444444444,%rsi
	mov $0x5555555555555555,%rdi
	mov $0x6666666666666666,%r8
	mov $0x7777777777777777,%r9
	mov $0x8888888888888888,%r10
	mov $0x9999999999999999,%r12
	mov $0xaaaaaaaaaaaaaaaa,%r13
	mov $0xbbbbbbbbbbbbbbbb,%r14
	mov $0xcccccccccccccccc,%r15
	movq %rsp,%xmm0             /* where RSP must be after the call */
	mov $39,%eax                /* getpid: ignores its arguments */
	call __scone_syscall
	movq %rax,%xmm1
	mov $1,%eax
	mov $0x1111111111111111,%rcx
	cmp %rcx,%rbx
	jne .Lbad
	inc %eax
	mov $0x2222222222222222,%rcx
	cmp %rcx,%rbp
	jne .Lbad
	inc %eax
	mov $0x3333333333333333,%rcx
	cmp %rcx,%rdx
	jne .Lbad
	inc %eax
	mov $0x4444444444444444,%rcx
	cmp %rcx,%rsi
	jne .Lbad
	inc %eax
	mov $0x5555555555555555,%rcx
	cmp %rcx,%rdi
	jne .Lbad
	inc %eax
	mov $0x6666666666666666,%rcx
	cmp %rcx,%r8
	jne .Lbad
	inc %eax
	mov $0x7777777777777777,%rcx
	cmp %rcx,%r9
	jne .Lbad
	inc %eax
	mov $0x8888888888888888,%rcx
	cmp %rcx,%r10
	jne .Lbad
	inc %eax
	mov $0x9999999999999999,%rcx
	cmp %rcx,%r12
	jne .Lbad
	inc %eax
	mov $0xaaaaaaaaaaaaaaaa,%rcx
	cmp %rcx,%r13
	jne .Lbad
	inc %eax
	mov $0xbbbbbbbbbbbbbbbb,%rcx
	cmp %rcx,%r14
	jne .Lbad
	inc %eax
	mov $0xcccccccccccccccc,%rcx
	cmp %rcx,%r15
	jne .Lbad
	inc %eax
	movq %xmm0,%rcx
	cmp %rcx,%rsp
	jne .Lbad
	inc %eax
	movq %xmm1,%rcx             /* a pid: positive */
	test %rcx,%rcx
	jle .Lbad
	xor %eax,%eax
.Lbad:
	add $8,%rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.size main,.-main
	.section .note.GNU-stack,"",@progbits
