/*
 * Enclave entry and exit (enclave_abi.h "Entry"/"Exit"). EENTER, or the SIM
 * starter that plays it, arrives here with RDI = op, RSI = arg, RDX =
 * SCONE_ENTER_SIM when emulated (an untrusted claim: a host that lies only
 * makes its own enclave fault), RBX = TCS,
 * RCX = where EEXIT must go, RAX = CSSA, and GS based on this TCS's thread
 * page (struct scone_thread). Nothing here may use the GOT or TLS: the image
 * may not be relocated yet and FS is whatever the host left.
 */
#define TH_STACK_HI 16
#define TH_HOST_RSP 32
#define TH_HOST_RBP 40
#define TH_EXIT 48
#define TH_ENCLAVE_RSP 56
#define TH_FSBASE 64
#define TH_BASE 72
#define TH_SIM 88          /* scratch[0]: RDX & SCONE_ENTER_SIM of this entry */
#define TH_ETHREAD 112     /* scratch[3]: this TCS was entered by ETHREAD */
#define TH_RESUME 120      /* scratch[4]: where __scone_exc_second continues */
#define TH_PAGE 4096       /* the exception entry's stack: the page's top */

/* struct scone_gprsgx (enclave_abi.h) */
#define G_RAX 0
#define G_RCX 8
#define G_RDX 16
#define G_RBX 24
#define G_RSP 32
#define G_RBP 40
#define G_RSI 48
#define G_RDI 56
#define G_R8 64
#define G_R9 72
#define G_R10 80
#define G_R11 88
#define G_R12 96
#define G_R13 104
#define G_R14 112
#define G_R15 120
#define G_RFLAGS 128
#define G_RIP 136

#define ECALL_START 0
#define ECALL_RESUME 1
#define ECALL_ETHREAD 2
#define EXIT_OCALL 1
#define EXIT_ABORT 3
#define ENCLU_EEXIT 4

/* XSAVE area kept on the enclave stack across an OCALL: the host may use
 * any vector register, the hook ABI promises the caller all of them. */
#include <scone/xsave_asm.h>
#define X87_TOP 0x3800             /* FSW bits 13:11 */

/* Every register the host must not see, but RDI/RSI (the exit's reason
 * and value) and RBX, RBP, RSP, R12-R15 (set by the caller). */
.macro SCRUB
	pxor %xmm0, %xmm0
	pxor %xmm1, %xmm1
	pxor %xmm2, %xmm2
	pxor %xmm3, %xmm3
	pxor %xmm4, %xmm4
	pxor %xmm5, %xmm5
	pxor %xmm6, %xmm6
	pxor %xmm7, %xmm7
	pxor %xmm8, %xmm8
	pxor %xmm9, %xmm9
	pxor %xmm10, %xmm10
	pxor %xmm11, %xmm11
	pxor %xmm12, %xmm12
	pxor %xmm13, %xmm13
	pxor %xmm14, %xmm14
	pxor %xmm15, %xmm15
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
.endm

	.text
	.globl __scone_entry
	.hidden __scone_entry
	.type __scone_entry,@function
__scone_entry:
	cld
	/* CSSA > 0: an exception entry, while this TCS's own entry is still
	 * under way (interrupted by the AEX): its host slots must survive. */
	test %rax, %rax
	jnz .Lexception
	mov %rsp, %gs:TH_HOST_RSP
	mov %rbp, %gs:TH_HOST_RBP
	mov %rcx, %gs:TH_EXIT
	and $1, %edx
	mov %rdx, %gs:TH_SIM
	lea __ehdr_start(%rip), %rdx
	mov %rdx, %gs:TH_BASE
	mov %gs:TH_FSBASE, %rax
	test %rax, %rax
	jz 1f
	wrfsbase %rax
1:	cmp $ECALL_RESUME, %rdi
	je .Lresume
	cmp $ECALL_ETHREAD, %rdi
	je .Lethread
	cmp $ECALL_START, %rdi
	jne .Lrefuse

	/* START: once per enclave, whichever TCS. */
	lock btsl $0, __scone_started(%rip)
	jc .Lrefuse
	lock btsq $0, %gs:TH_ETHREAD
	jc .Lrefuse
	mov %gs:TH_STACK_HI, %rsp
	add %rdx, %rsp
	xor %ebp, %ebp
	call .Lclean_vectors
	/* Clear AC and every status flag the host may have set. */
	push $0x2
	popfq
	push %rsi
	push %rdx
	mov %rdx, %rdi
	call __scone_relocate_self
	pop %rdi
	pop %rsi
	call __scone_start
	ud2

.Lethread:
	/* Once per TCS; START's own TCS never (it took the flag below). */
	lock btsq $0, %gs:TH_ETHREAD
	jc .Lrefuse
	mov %gs:TH_STACK_HI, %rsp
	add %rdx, %rsp
	xor %ebp, %ebp
	call .Lclean_vectors
	push $0x2
	popfq
	mov %rsi, %rdi
	call __scone_ethread_enter
	ud2

/* A first entry: nothing of the host's vector state comes in (it would
 * also keep every later exit on the slow, whole-XSAVE path). Keeps RDX
 * and RSI. */
.Lclean_vectors:
	mov %rdx, %r8
	XSAVE_MASK
	xrstor64 __scone_exit_init_area(%rip)
	mov %r8, %rdx
	ret

.Lresume:
	mov %gs:TH_ENCLAVE_RSP, %rax
	test %rax, %rax
	jz .Lrefuse
	movq $0, %gs:TH_ENCLAVE_RSP
	mov %rax, %rsp
	push $0x2
	popfq
	mov %rsi, %r12
	cmpq $0, XSAVE_SIZE+8(%rsp)
	je 3f
	/* Saved fast: what the host left in use (AVX, a non-empty x87
	 * stack) goes back to its initial state, where the enclave had it. */
	mov $1, %ecx
	xgetbv
	test __scone_ctx_xmask(%rip), %eax
	jnz 1f
	fnstsw %ax
	test $X87_TOP, %ax
	jz 2f
1:	XSAVE_MASK
	xrstor64 __scone_exit_init_area(%rip)
2:	SSE_LOAD
	jmp 4f
3:	XSAVE_MASK
	xrstor64 (%rsp)
4:	mov XSAVE_SIZE(%rsp), %rsp
	mov %r12, %rax
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

.Lrefuse:
	mov $EXIT_ABORT, %edi
	xor %esi, %esi
	jmp __scone_eexit

/*
 * Exception entry (exception.c, phase 1): RAX = CSSA, RBX = TCS. It runs
 * on the upper half of this TCS's thread page (nothing else uses it; a
 * fault in here has no SSA frame left and ends the process), keeps the
 * interrupted entry's host slots, and leaves to the host that entered it
 * with RDI = SCONE_EXIT_ERESUME or SCONE_EXIT_UNHANDLED.
 */
.Lexception:
	mov %rsp, %r12                  /* this entry's host RSP, RBP, exit, SIM */
	mov %rbp, %r13
	mov %rcx, %r14
	and $1, %edx
	mov %rdx, %r15
	lea __ehdr_start(%rip), %rsp
	add %gs:0, %rsp                 /* the thread page (its self offset) */
	add $TH_PAGE, %rsp
	push $0x2
	popfq
	mov %rax, %rdi
	mov %rbx, %rsi
	call __scone_exception
	mov %rax, %rdi
	xor %esi, %esi
	SCRUB
	mov %r13, %rbp
	mov %r12, %rsp
	test %r15, %r15
	jz 1f
	jmp *%r14
1:	mov %r14, %rbx
	mov $ENCLU_EEXIT, %eax
	enclu
	ud2
	.size __scone_entry, .-__scone_entry

/*
 * Phase 2 (exception.c): ERESUME lands here on the interrupted thread's
 * stack, RDI = struct scone_exc * (its GPRSGX copy first). The vector
 * state is the interrupted one: save it, deliver the signal, restore it,
 * and continue at the context the handler left in the copy.
 */
	.globl __scone_exc_second
	.hidden __scone_exc_second
	.type __scone_exc_second,@function
__scone_exc_second:
	mov %rdi, %r12
	sub $(XSAVE_SIZE + 64), %rsp
	and $-64, %rsp
	XSAVE_HEADER_ZERO
	XSAVE_MASK
	xsave64 (%rsp)
	mov %r12, %rdi
	mov %rsp, %rsi
	call __scone_exc_deliver
	XSAVE_MASK
	xrstor64 (%rsp)
	mov %r12, %rdi
	mov G_RIP(%rdi), %rax
	mov %rax, %gs:TH_RESUME
	pushq G_RFLAGS(%rdi)
	popfq
	mov G_RAX(%rdi), %rax
	mov G_RCX(%rdi), %rcx
	mov G_RDX(%rdi), %rdx
	mov G_RBX(%rdi), %rbx
	mov G_RBP(%rdi), %rbp
	mov G_RSI(%rdi), %rsi
	mov G_R8(%rdi), %r8
	mov G_R9(%rdi), %r9
	mov G_R10(%rdi), %r10
	mov G_R11(%rdi), %r11
	mov G_R12(%rdi), %r12
	mov G_R13(%rdi), %r13
	mov G_R14(%rdi), %r14
	mov G_R15(%rdi), %r15
	mov G_RSP(%rdi), %rsp
	mov G_RDI(%rdi), %rdi
	jmp *%gs:TH_RESUME
	.size __scone_exc_second, .-__scone_exc_second

/*
 * long __scone_ocall_exit(struct scone_ocall *host): leave with
 * SCONE_EXIT_OCALL; returns the result the host passes to RESUME.
 */
	.globl __scone_ocall_exit
	.hidden __scone_ocall_exit
	.type __scone_ocall_exit,@function
__scone_ocall_exit:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %r12
	sub $(XSAVE_SIZE + 64), %rsp
	and $-64, %rsp
	mov %r12, XSAVE_SIZE(%rsp)
	/* Fast, as the context switch (sched/ctx.S): when XINUSE says only
	 * x87 and SSE are in use and the x87 stack is empty, xmm0-15, MXCSR
	 * and the x87 control word are the whole state, a fraction of an
	 * XSAVE's cost on the path of every exit. */
	cmpb $0, __scone_ctx_fast(%rip)
	je 1f
	mov $1, %ecx
	xgetbv
	test __scone_ctx_xmask(%rip), %eax
	jnz 1f
	fnstsw %ax
	test $X87_TOP, %ax
	jnz 1f
	SSE_SAVE
	movq $1, XSAVE_SIZE+8(%rsp)
	jmp 2f
1:	XSAVE_HEADER_ZERO
	XSAVE_MASK
	xsave64 (%rsp)
	movq $0, XSAVE_SIZE+8(%rsp)
2:	mov %rsp, %gs:TH_ENCLAVE_RSP
	mov %rdi, %rsi
	mov $EXIT_OCALL, %edi
	jmp __scone_eexit
	.size __scone_ocall_exit, .-__scone_ocall_exit

/*
 * _Noreturn void __scone_eexit(reason, value): back to the host with
 * RDI = reason, RSI = value, the host's RSP/RBP, every other register
 * scrubbed. SIM: a jump to the exit target; HW: ENCLU[EEXIT].
 */
	.globl __scone_eexit
	.hidden __scone_eexit
	.type __scone_eexit,@function
__scone_eexit:
	SCRUB
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	mov %gs:TH_EXIT, %rbx
	mov %gs:TH_HOST_RBP, %rbp
	mov %gs:TH_HOST_RSP, %rsp
	cmpq $0, %gs:TH_SIM
	je 1f
	jmp *%rbx
1:	mov $ENCLU_EEXIT, %eax
	enclu
	ud2
	.size __scone_eexit, .-__scone_eexit

	.bss
	.balign 4
__scone_started:
	.long 0


	.section .rodata
	.balign 64
/* XSTATE_BV = 0: XRSTOR puts every component in its initial state, and
 * MXCSR (loaded whatever XSTATE_BV says) at its ABI default. */
__scone_exit_init_area:
	.zero 24
	.long 0x1f80
	.zero 576 - 28

	.section .note.GNU-stack,"",@progbits
