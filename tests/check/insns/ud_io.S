/* Port I/O, SDM Vol. 3D Table 37-1: #UD inside an enclave. */
	.text
	.globl	main
	.type	main, @function
main:
	xor	%eax, %eax
	ret
	.size	main, . - main

	.globl	io_class
	.type	io_class, @function
io_class:
	in	$0x60, %al	/* EXPECT: in */
	in	%dx, %eax	/* EXPECT: in */
	out	%al, $0x80	/* EXPECT: out */
	out	%eax, %dx	/* EXPECT: out */
	insb			/* EXPECT: insb */
	insl			/* EXPECT: insd */
	outsb			/* EXPECT: outsb */
	outsw			/* EXPECT: outsw */
	ret
	.size	io_class, . - io_class
	.section .note.GNU-stack, "", @progbits
