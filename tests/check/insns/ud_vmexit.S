/* The VM-exit class of SDM Vol. 3D Table 37-1: each raises #UD inside an
 * enclave. main never runs them; the checker reads the image. */
	.text
	.globl	main
	.type	main, @function
main:
	xor	%eax, %eax
	ret
	.size	main, . - main

	.globl	vmexit_class
	.type	vmexit_class, @function
vmexit_class:
	sgdt	(%rdi)		/* EXPECT: sgdt */
	sidt	(%rdi)		/* EXPECT: sidt */
	sldt	%ax		/* EXPECT: sldt */
	str	%ax		/* EXPECT: str */
	getsec			/* EXPECT: getsec */
	rdpmc			/* EXPECT: rdpmc */
	vmcall			/* EXPECT: vmcall */
	vmfunc			/* EXPECT: vmfunc */
	ret
	.size	vmexit_class, . - vmexit_class
	.section .note.GNU-stack, "", @progbits
