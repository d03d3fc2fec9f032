/*
 * The enclave's system call dispatcher, called by __scone_syscall
 * (syscall.S). DESIGN.md §5, classes from the one syscall table: calls the
 * table marks unsupported fail with ENOSYS and one log line; the internal
 * calls implemented so far are served here; everything else leaves the
 * enclave synchronously (ocall.c). Internal calls not served here yet
 * (futex, sched_yield, clock_gettime, getrandom, ...) also go out
 * synchronously until the scheduler of a later issue takes them in.
 */
#include <scone/syscall_table.h>

#include "internal.h"

#define SCONE_NR_unmapself SCONE_SYS_PSEUDO_unmapself

#define ENOSYS 38
#define EINVAL 22
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

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
		if (scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_UNSUPPORTED) {
			__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not supported", name_of(sc->nr), sc->nr);
			return -ENOSYS;
		}
		return __scone_ocall(sc->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}
