/* Instructions that load a segment register or transfer through one, SDM
 * Vol. 3D Table 37-1: #UD inside an enclave. Next to them, their legal
 * neighbours (INT3, reading a segment register, LAR/LSL, near indirect
 * jumps and calls, RDRAND), which are not reported. */
	.text
	.globl	main
	.type	main, @function
main:
	xor	%eax, %eax
	ret
	.size	main, . - main

	.globl	segment_class
	.type	segment_class, @function
segment_class:
	int	$0x21		/* EXPECT: int */
	iretq			/* EXPECT: iretq */
	lretq			/* EXPECT: retfq */
	ljmp	*(%rax)		/* EXPECT: ljmp */
	lcall	*(%rax)		/* EXPECT: lcall */
	lss	(%rax), %eax	/* EXPECT: lss */
	lfs	(%rax), %eax	/* EXPECT: lfs */
	lgs	(%rax), %eax	/* EXPECT: lgs */
	mov	%eax, %ds	/* EXPECT: mov_sreg */
	mov	(%rax), %fs	/* EXPECT: mov_sreg */
	pop	%gs		/* EXPECT: pop_sreg */
	int3
	mov	%ds, %eax
	push	%fs
	lar	%ax, %ax
	lsl	%ax, %ax
	jmp	*(%rax)
	call	*%rax
	rdrand	%eax
	ret
	.size	segment_class, . - segment_class
	.section .note.GNU-stack, "", @progbits
