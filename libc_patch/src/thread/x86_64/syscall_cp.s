/*
 * scone: the cancellable syscall goes through the hook.
 *
 * Upstream, a thread blocked here has its PC between __cp_begin and
 * __cp_end, and cancel_handler redirects it to __cp_cancel. Through the
 * hook the blocked PC is inside __scone_syscall instead, so that test alone
 * would never fire and a thread blocked in read()/pthread_cond_wait() could
 * not be cancelled (SIGCANCEL is SA_RESTART: the call would just resume).
 * So a hook may mark with __scone_cp_begin/__scone_cp_end the instructions
 * a call from here passes, with its return address __cp_end still at the
 * top of the stack, before its syscall completes; the patched cancel_handler
 * (src/thread/pthread_cancel.c) treats that like [__cp_begin, __cp_end) and
 * pops the return address. A hook without those symbols still gets
 * deferred cancellation: the flag test below, and -EINTR from a call that
 * is not restarted, both act on a pending cancel.
 */
.text
.global __cp_begin
.hidden __cp_begin
.global __cp_end
.hidden __cp_end
.global __cp_cancel
.hidden __cp_cancel
.hidden __cancel
.hidden __scone_syscall
.global __syscall_cp_asm
.hidden __syscall_cp_asm
.type   __syscall_cp_asm,@function
__syscall_cp_asm:

__cp_begin:
	mov (%rdi),%eax
	test %eax,%eax
	jnz __cp_cancel
	mov %rdi,%r11
	mov %rsi,%rax
	mov %rdx,%rdi
	mov %rcx,%rsi
	mov %r8,%rdx
	mov %r9,%r10
	mov 8(%rsp),%r8
	mov 16(%rsp),%r9
	mov %r11,8(%rsp)
	call __scone_syscall
__cp_end:
	ret
__cp_cancel:
	jmp __cancel
