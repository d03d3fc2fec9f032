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

#define ECALL_START 0
#define ECALL_RESUME 1
#define ECALL_ETHREAD 2
#define EXIT_OCALL 1
#define EXIT_ABORT 3
#define ENCLU_EEXIT 4

/* XSAVE area kept on the enclave stack across an OCALL: the host may use
 * any vector register, the hook ABI promises the caller all of them. */
#include <scone/xsave_asm.h>

	.text
	.globl __scone_entry
	.hidden __scone_entry
	.type __scone_entry,@function
__scone_entry:
	mov %rsp, %gs:TH_HOST_RSP
	mov %rbp, %gs:TH_HOST_RBP
	mov %rcx, %gs:TH_EXIT
	and $1, %edx
	mov %rdx, %gs:TH_SIM
	cld
	/* CSSA > 0 would be an exception entry: not handled yet. */
	test %rax, %rax
	jnz .Lrefuse
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
	push $0x2
	popfq
	mov %rsi, %rdi
	call __scone_ethread_enter
	ud2

.Lresume:
	mov %gs:TH_ENCLAVE_RSP, %rax
	test %rax, %rax
	jz .Lrefuse
	movq $0, %gs:TH_ENCLAVE_RSP
	mov %rax, %rsp
	push $0x2
	popfq
	mov %rsi, %r12
	XSAVE_MASK
	xrstor64 (%rsp)
	mov XSAVE_SIZE(%rsp), %rsp
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
	.size __scone_entry, .-__scone_entry

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
	XSAVE_HEADER_ZERO
	XSAVE_MASK
	xsave64 (%rsp)
	mov %rsp, %gs:TH_ENCLAVE_RSP
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

	.section .note.GNU-stack,"",@progbits
