/* Raw system calls for the harness's own OS threads and callbacks: they run
 * with whatever FS the last lthread left, so no libc, no errno. */
#ifndef HARNESS_RAW_H
#define HARNESS_RAW_H

static inline long raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret)
			     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}
#define raw0(n) raw6(n, 0, 0, 0, 0, 0, 0)
#define raw1(n, a) raw6(n, (long)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) raw6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) raw6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) raw6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#define NR_mmap 9
#define NR_munmap 11
#define NR_futex 202
#define NR_clock_gettime 228
#define NR_exit_group 231
#define NR_gettid 186
#define NR_arch_prctl 158

/* Spawn an OS thread sharing everything but TLS: fn(arg) on stack_top. */
long harness_spawn(void *stack_top, void (*fn)(void *), void *arg);

#endif
