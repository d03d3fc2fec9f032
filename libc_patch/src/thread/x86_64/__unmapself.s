/* Copyright 2011-2012 Nicholas J. Kain, licensed under standard MIT license */
/*
 * scone: munmap of the running stack, then exit. Nothing may touch this
 * stack after the munmap, so both steps are one pseudo-call that the hook
 * performs without returning: SCONE_NR_unmapself (= 1024, defined in
 * runtime/include/scone/hook.h; this file is not preprocessed).
 */
.text
.global __unmapself
.hidden __scone_syscall
.type   __unmapself,@function
__unmapself:
	movl $1024,%eax         /* SCONE_NR_unmapself(base, size) */
	call __scone_syscall    /* does not return */
	hlt
