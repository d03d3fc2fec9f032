/*
 * scone: clone through the hook. The child starts on its new stack inside
 * the hook, right after the raw syscall, and leaves it with `ret`; so the
 * address to return to is stored on the child's stack, just below the arg
 * word, before the call. The parent returns from the hook normally.
 */
.text
.global __clone
.hidden __clone
.hidden __scone_syscall
.type   __clone,@function
__clone:
	xor %eax,%eax
	mov $56,%al
	mov %rdi,%r11
	mov %rdx,%rdi
	mov %r8,%rdx
	mov %r9,%r8
	mov 8(%rsp),%r10
	mov %r11,%r9
	and $-16,%rsi
	sub $8,%rsi
	mov %rcx,(%rsi)
	sub $8,%rsi
	lea 1f(%rip),%r11
	mov %r11,(%rsi)
	call __scone_syscall
1:	test %eax,%eax
	jnz 2f
	xor %ebp,%ebp
	pop %rdi
	call *%r9
	mov %eax,%edi
	xor %eax,%eax
	mov $60,%al
	call __scone_syscall
	hlt
2:	ret
