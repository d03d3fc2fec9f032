/* Copyright 2011-2012 Nicholas J. Kain, licensed under standard MIT license */
/* scone: arch_prctl goes through the hook like every other call. */
.text
.global __set_thread_area
.hidden __set_thread_area
.hidden __scone_syscall
.type __set_thread_area,@function
__set_thread_area:
	mov %rdi,%rsi           /* shift for syscall */
	movl $0x1002,%edi       /* SET_FS register */
	movl $158,%eax          /* set fs segment to */
	call __scone_syscall    /* arch_prctl(SET_FS, arg)*/
	ret
