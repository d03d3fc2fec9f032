/*
 * The native synchronous syscall hook (SCONE-sync baseline): executes each
 * call with a raw `syscall`, counting it per number first. ABI and special
 * cases: runtime/include/scone/hook.h. Runs before TLS exists, so it keeps
 * its state in a plain global table updated with lock-prefixed increments.
 */
#include "scone/hook.h"

#define NR_rt_sigreturn 15
#define NR_munmap 11
#define NR_exit 60
#define NR_exit_group 231
#define NR_fork 57

	.weak __cp_end
	.hidden __scone_native_counts
	.hidden __scone_native_report

	.text
	.globl __scone_syscall
	.hidden __scone_syscall
	.type __scone_syscall,@function
	/*
	 * [__scone_cp_begin, __scone_cp_end) is every instruction a call from
	 * __syscall_cp_asm passes before its syscall has completed, with its
	 * return address (__cp_end) still at (%rsp): musl's cancel handler acts
	 * on pthread_cancel there (syscall_cp.s). Nothing here pushes before
	 * the syscall, so (%rsp) tells such a call from any other.
	 */
	.globl __scone_cp_begin
	.hidden __scone_cp_begin
	.globl __scone_cp_end
	.hidden __scone_cp_end
__scone_syscall:
__scone_cp_begin:
	cmp $SCONE_NR_COUNTED,%rax
	jae .Lpseudo
	lea __scone_native_counts(%rip),%rcx
	lock incq (%rcx,%rax,8)
	cmp $NR_rt_sigreturn,%eax
	je .Lsigreturn
	cmp $NR_exit_group,%eax
	je .Lexit_group
	cmp $NR_fork,%eax
	je .Lfork
	/* A weak reference: programs without cancellation have no __cp_end. */
	mov __cp_end@GOTPCREL(%rip),%rcx
	cmp %rcx,(%rsp)
	jne .Lplain
	syscall
__scone_cp_end:
	ret

.Lplain:
	/* Also right for clone: the child returns through its own stack. */
	syscall
	ret

.Lfork:
	/*
	 * A forked child starts its own counts, so that the reports of parent
	 * and child add up to what the two processes did. (Clone with CLONE_VM,
	 * as posix_spawn uses, shares the table and keeps counting into it.)
	 */
	syscall
	test %rax,%rax
	jnz 1f
	push %rdi
	lea __scone_native_counts(%rip),%rdi
	mov $SCONE_NR_COUNTED,%ecx
	rep stosq
	pop %rdi
1:	ret

.Lsigreturn:
	/* The kernel finds the frame at RSP: drop our return address. */
	add $8,%rsp
	syscall
	hlt

.Lexit_group:
	/* Not returning: any stack will do once aligned for C. */
	mov %rdi,%rbx
	and $-16,%rsp
	call __scone_native_report
	mov %rbx,%rdi
	mov $NR_exit_group,%eax
	syscall
	hlt

.Lpseudo:
	cmp $SCONE_NR_unmapself,%rax
	jne .Lpassthrough
	/* Counted as the two calls the kernel sees, as strace reports them. */
	lea __scone_native_counts(%rip),%rcx
	lock incq NR_munmap*8(%rcx)
	lock incq NR_exit*8(%rcx)
	mov $NR_munmap,%eax
	syscall
	/* The stack is gone: registers only from here on. */
	xor %edi,%edi
	mov $NR_exit,%eax
	syscall
	hlt

.Lpassthrough:
	/* Out-of-table numbers (e.g. syscall(-1)): the kernel answers ENOSYS. */
	syscall
	ret
	.size __scone_syscall,.-__scone_syscall

	.section .note.GNU-stack,"",@progbits
