/*
 * scone: vfork is a plain fork (SYS_fork) through the hook. A real vfork
 * shares the parent's stack with the child until exec/_exit; the child's
 * return from the hook would then pop the parent's return address and its
 * later calls overwrite the parent's frames. POSIX lets vfork behave as
 * fork, and the child may only exec or _exit, which fork supports.
 */
.global vfork
.hidden __scone_syscall
.type vfork,@function
vfork:
	mov $57,%eax
	call __scone_syscall
	mov %rax,%rdi
	.hidden __syscall_ret
	jmp __syscall_ret
