/*
 * scone: rt_sigreturn through the hook. The kernel finds the signal frame
 * just above the return address that this call pushes; the hook drops that
 * word before the raw call (it never returns here).
 */
	nop
.global __restore_rt
.hidden __restore_rt
.hidden __scone_syscall
.type __restore_rt,@function
__restore_rt:
	mov $15, %rax
	call __scone_syscall
.size __restore_rt,.-__restore_rt
