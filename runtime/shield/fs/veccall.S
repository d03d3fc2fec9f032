/*
 * long __scone_vec_call(long (*fn)(void *), void *arg): call fn(arg) with
 * the caller's vector state saved and restored around it. The syscall hook
 * promises callers their XMM/YMM state (syscall.S) and the runtime is built
 * with -mgeneral-regs-only; the shields' crypto (OpenSSL) is not, so every
 * call into it from a system call goes through here.
 */
#include <scone/xsave_asm.h>

	.text
	.globl __scone_vec_call
	.hidden __scone_vec_call
	.type __scone_vec_call,@function
__scone_vec_call:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	mov %rdi, %rbx
	mov %rsi, %r12
	sub $(XSAVE_SIZE + 64), %rsp
	and $-64, %rsp
	XSAVE_HEADER_ZERO
	XSAVE_MASK
	xsave (%rsp)
	mov %r12, %rdi
	call *%rbx
	mov %rax, %r12
	XSAVE_MASK
	xrstor (%rsp)
	mov %r12, %rax
	lea -16(%rbp), %rsp
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size __scone_vec_call, .-__scone_vec_call
	.section .note.GNU-stack,"",@progbits
