/*
 * The syscall hook ABI: how the patched musl (libc_patch/) hands every
 * system call to the runtime. Two implementations exist: the native
 * synchronous hook (runtime/native, the paper's SCONE-sync baseline) and the
 * enclave runtime's. Both define the same hidden symbol.
 *
 * __scone_syscall is entered with `call` and follows the syscall
 * instruction's register convention, not the C ABI:
 *   RAX = number, arguments in RDI, RSI, RDX, R10, R8, R9;
 *   result in RAX (-errno on error);
 *   clobbers only RCX, R11 and flags; every other register is preserved;
 *   RSP is not necessarily 16-byte aligned at entry (callers in inline asm
 *   only step over the red zone).
 * It runs before TLS exists (__set_thread_area goes through it), so it must
 * not use TLS, errno or the stack protector.
 *
 * Calls that the callers set up specially:
 *   clone (56)        the child's new stack holds, at its top, the address to
 *                     continue at; a raw `syscall; ret` returns the child
 *                     there with RSP = child stack and every register but
 *                     RAX/RCX/R11 as passed (clone.s).
 *   rt_sigreturn (15) the signal frame starts just above the return address
 *                     that the call pushed; the hook never returns (restore.s).
 *   fork (57)         vfork.s issues fork instead of vfork.
 *   SCONE_NR_unmapself (RDI = base, RSI = size): munmap the running stack,
 *                     then exit(0) the thread, touching no stack in between;
 *                     never returns (__unmapself.s).
 *   calls from __syscall_cp_asm (return address == __cp_end): a hook may
 *                     define __scone_cp_begin/__scone_cp_end around every
 *                     instruction such a call passes, with that return
 *                     address still at (%rsp), before its syscall completes;
 *                     musl's cancel handler then acts on pthread_cancel there
 *                     (syscall_cp.s, pthread_cancel.c). Optional (weak).
 */
#ifndef SCONE_HOOK_H
#define SCONE_HOOK_H

/* Pseudo-call numbers start above every Linux x86-64 number. */
#define SCONE_NR_BASE 1024
/* libc_patch/src/thread/x86_64/__unmapself.s hard-codes this value (it is not
 * preprocessed); tests/sysroot checks that the two agree. */
#define SCONE_NR_unmapself (SCONE_NR_BASE + 0)

/* Size of the native hook's per-number counter table. */
#define SCONE_NR_COUNTED 512

#endif
