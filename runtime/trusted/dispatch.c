/*
 * The enclave's system call dispatcher, called by __scone_syscall
 * (syscall.S). DESIGN.md §5, classes from the one syscall table: calls the
 * table marks unsupported fail with ENOSYS and one log line; the internal
 * calls implemented so far are served here; external calls are marshalled
 * (client.c). Internal calls whose in-enclave half comes with the M:N
 * scheduler (futex, sigaltstack, rt_sigsuspend, tkill, ...) still leave by
 * a bare exit with their arguments as they are, which SIM alone serves.
 */
#include <scone/syscall_table.h>

#include "client.h"

#define SCONE_NR_unmapself SCONE_SYS_PSEUDO_unmapself

#define ENOSYS 38
#define EAGAIN 11
#define EINVAL 22
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

static long getrandom(char *buf, unsigned long len)
{
	for (unsigned long i = 0; i < len;) {
		uint64_t v;
		unsigned char ok = 0;
		for (int t = 0; t < 100 && !ok; t++)
			__asm__ __volatile__("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
		if (!ok)
			return i ? (long)i : -EAGAIN;
		unsigned long n = len - i < 8 ? len - i : 8;
		__scone_memcpy(buf + i, &v, n);
		i += n;
	}
	return (long)len;
}

static long cached(long *slot, long nr)
{
	if (!*slot)
		*slot = __scone_ocall(nr, 0, 0, 0, 0, 0, 0);
	return *slot;
}

static long arch_prctl(long code, long addr)
{
	struct scone_thread *t;
	__asm__("mov %%gs:0, %0" : "=r"(t));
	t = (struct scone_thread *)(__scone_rt.base + (uintptr_t)t);
	switch (code) {
	case ARCH_SET_FS:
		/* Remembered in the thread page: every entry restores it. */
		t->fsbase = (uint64_t)addr;
		__asm__ __volatile__("wrfsbase %0" : : "r"(addr) : "memory");
		return 0;
	case ARCH_GET_FS: {
		unsigned long v;
		__asm__ __volatile__("rdfsbase %0" : "=r"(v));
		*(unsigned long *)addr = v;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static const char *name_of(long nr)
{
	const char *n = scone_sys_name_of(nr);
	return n ? n : "unknown";
}

long __scone_dispatch(struct scone_sc *sc) SCONE_HIDDEN;
long __scone_dispatch(struct scone_sc *sc)
{
	long *a = sc->a;
	switch (sc->nr) {
	case 9: return __scone_sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5]);
	case 10: return __scone_sys_mprotect(a[0], a[1], a[2]);
	case 11: return __scone_sys_munmap(a[0], a[1]);
	case 12: return __scone_sys_brk(a[0]);
	case 13: return __scone_sys_rt_sigaction(a[0], (const void *)a[1], (void *)a[2], a[3]);
	case 14: return __scone_sys_rt_sigprocmask(a[0], (const void *)a[1], (void *)a[2], a[3]);
	case 25: return __scone_sys_mremap(a[0], a[1], a[2], a[3], a[4]);
	case 28: return __scone_sys_madvise(a[0], a[1], a[2]);
	case 24: return 0;                                /* sched_yield: one thread until M:N */
	case 149: case 150: case 151: case 152: case 325: /* mlock family: EPC is never swapped to disk */
		return 0;
	case 318: return getrandom((char *)a[0], (unsigned long)a[1] > 33554431 ? 33554431 : (unsigned long)a[1]);
	case 39: return cached(&__scone_rt.pid, 39);
	case 186: return cached(&__scone_rt.tid, 186);
	case 218: return cached(&__scone_rt.tid, 186);   /* set_tid_address */
	case 158: return arch_prctl(a[0], a[1]);
	case 60:                                          /* exit: the only thread */
	case 231:                                         /* exit_group */
		__scone_exit((int)a[0]);
	case SCONE_NR_unmapself:
		/* The only thread leaves (threads come with a later issue). */
		__scone_sys_munmap(a[0], a[1]);
		__scone_exit(0);
	case 15:                                          /* rt_sigreturn: no delivery yet */
		return -ENOSYS;
	case 56: case 435:                                /* clone, clone3 */
		if (scone_sys_class_of(sc->nr) != SCONE_SYS_CLASS_UNSUPPORTED) {
			__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not supported yet: threads come with a later issue",
				    name_of(sc->nr), sc->nr);
			return -ENOSYS;
		}
		/* fall through */
	default:
		if (scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_UNSUPPORTED ||
		    scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_NONE) {
			__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not supported", name_of(sc->nr), sc->nr);
			return -ENOSYS;
		}
		if (scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_EXTERNAL)
			return __scone_external(sc->nr, a);
		return __scone_ocall(sc->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}
