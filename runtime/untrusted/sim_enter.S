/*
 * uint64_t scone_sim_eenter(struct scone_sim_entry *c): EENTER as the CPU
 * does it, for SIM (sgx-spec.md §4, enclave_abi.h "Entry"): save the host's
 * FS/GS bases, load FS = base + OFSBASE and GS = base + OGSBASE, RBX = TCS,
 * RCX = the landing below (where EEXIT goes), RAX = CSSA (c->cssa), jump to
 * base + OENTRY with RDI = op, RSI = arg, RDX = SCONE_ENTER_SIM. The
 * enclave's EEXIT comes back to the landing with the host RSP/RBP and
 * RDI = reason, RSI = value.
 */
#define C_TCS 0
#define C_ENTRY 8
#define C_FS 16
#define C_GS 24
#define C_OP 32
#define C_ARG 40
#define C_REASON 48
#define C_VALUE 56
#define C_HOST_FS 64
#define C_HOST_GS 72
#define C_CSSA 80

	.text
	.globl scone_sim_eenter
	.hidden scone_sim_eenter
	.type scone_sim_eenter,@function
scone_sim_eenter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi
	sub $8, %rsp
	/* MXCSR and the x87 control word are callee-saved in the host's ABI. */
	stmxcsr 4(%rsp)
	fnstcw (%rsp)
	rdfsbase %rax
	mov %rax, C_HOST_FS(%rdi)
	rdgsbase %rax
	mov %rax, C_HOST_GS(%rdi)
	mov C_FS(%rdi), %rax
	wrfsbase %rax
	mov C_GS(%rdi), %rax
	wrgsbase %rax
	mov C_TCS(%rdi), %rbx
	mov C_ENTRY(%rdi), %r11
	mov C_ARG(%rdi), %rsi
	mov C_CSSA(%rdi), %rax
	mov C_OP(%rdi), %rdi
	lea .Llanding(%rip), %rcx
	mov $1, %edx           /* SCONE_ENTER_SIM */
	jmp *%r11
.Llanding:
	mov 8(%rsp), %rax
	mov %rdi, C_REASON(%rax)
	mov %rsi, C_VALUE(%rax)
	mov C_HOST_FS(%rax), %rdx
	wrfsbase %rdx
	mov C_HOST_GS(%rax), %rdx
	wrgsbase %rdx
	ldmxcsr 4(%rsp)
	fldcw (%rsp)
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	xor %eax, %eax
	ret
	.size scone_sim_eenter, .-scone_sim_eenter

	.section .note.GNU-stack,"",@progbits
