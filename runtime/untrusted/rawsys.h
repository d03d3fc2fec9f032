/*
 * A system call without libc. In SIM, code that runs on an enclave thread
 * (signal handlers, OCALL service) has the enclave's %fs: glibc's wrappers,
 * which may touch TLS (errno), must not run there.
 */
#ifndef SCONE_RAWSYS_H
#define SCONE_RAWSYS_H

static inline long scone_raw6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

static inline long scone_raw4(long nr, long a0, long a1, long a2, long a3)
{
	return scone_raw6(nr, a0, a1, a2, a3, 0, 0);
}

#endif
