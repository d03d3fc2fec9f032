/*
 * The enclave's system call dispatcher, called by __scone_syscall
 * (syscall.S). DESIGN.md §5, classes from the one syscall table: calls the
 * table marks unsupported fail with ENOSYS and one log line; internal calls
 * are served here, the thread calls by the M:N scheduler (runtime/sched),
 * and never leave with an enclave pointer; external calls are marshalled
 * (client.c).
 */
#include <scone/syscall_table.h>

#include "../sched/scone_sched.h"
#include "../shield/shield.h"
#include "client.h"
#include "filemap.h"
#include "misc.h"

#define SCONE_NR_unmapself SCONE_SYS_PSEUDO_unmapself

#define ESRCH 3
#define ENOSYS 38
#define EAGAIN 11
#define EINVAL 22
#define EPERM 1
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

/* set_robust_list before the scheduler runs (it keeps one per lthread). */
static void *robust_head;

static const char *name_of(long nr)
{
	const char *n = scone_sys_name_of(nr);
	return n ? n : "unknown";
}

static long thread_call(struct scone_sc *sc, int *handled)
{
	long *a = sc->a;
	*handled = 1;
	switch (sc->nr) {
	case 56: {
		struct scone_clone_regs r = { a[0], a[1], a[2], a[3], a[4], a[5] };
		long ret = __scone_sched_clone(&r);
		if (ret == -ENOSYS)
			__scone_log(SCONE_LOG_WARN, "clone with flags 0x%lx is not supported: only threads (pthread_create); fork and posix_spawn are not",
				    (unsigned long)a[0]);
		return ret;
	}
	case 202: return __scone_sched_futex((uint32_t *)a[0], a[1], (uint32_t)a[2], (uintptr_t)a[3], (uint32_t *)a[4], (uint32_t)a[5]);
	case 35: return __scone_sys_nanosleep((const void *)a[0], (void *)a[1]);
	case 230: return __scone_sys_clock_nanosleep(a[0], a[1], (const void *)a[2], (void *)a[3]);
	case 24: return __scone_sched_yield();
	case 60: __scone_sched_exit((int)a[0]);
	case SCONE_NR_unmapself: __scone_sched_unmapself((uintptr_t)a[0], (size_t)a[1]);
	case 218: return __scone_sched_set_tid_address((int *)a[0]);
	case 186: return __scone_sched_gettid();
	case 158:
		if (a[0] == ARCH_SET_FS) {
			__scone_sched_set_fs((uint64_t)a[1]);
			return 0;
		}
		return arch_prctl(a[0], a[1]);
	case 273: return __scone_sched_set_robust_list((void *)a[0], (unsigned long)a[1]);
	case 274: return __scone_sched_get_robust_list(a[0], (void **)a[1], (unsigned long *)a[2]);
	}
	*handled = 0;
	return 0;
}

/* Every external call the shields do not serve, and the shields' own host
 * calls: the client, through the file maps while any exist. */
long __scone_shield_host(long nr, const long a[6])
{
	return __scone_fmap_active() ? __scone_fmap_external(nr, a) : __scone_external(nr, a);
}

/* The program's mmap: the shields' files, a /proc file (no pages), or
 * memory.c. */
static long map(const long a[6])
{
	if (__scone_shield_on && !(a[3] & 0x20) && __scone_shield_owns_fd(a[4]))
		return __scone_shield_mmap(a);
	if (!(a[3] & 0x20) && __scone_proc_owns(a[4]))
		return -5;                        /* EIO: a /proc file has no pages */
	return __scone_sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5]);
}

long __scone_dispatch(struct scone_sc *sc) SCONE_HIDDEN;
long __scone_dispatch(struct scone_sc *sc)
{
	long *a = sc->a;
	if (__scone_sched_active()) {
		int handled;
		long r = thread_call(sc, &handled);
		if (handled)
			return r;
	}
	/* Time from the time page: no exit (clock.c); else external below. */
	if (sc->nr == 228 || sc->nr == 96 || sc->nr == 201) {
		long r;
		if (__scone_clock_call(sc->nr, a, &r))
			return r;
	}
	switch (sc->nr) {
	case 9: return __scone_prog_mmap(a, map);
	case 10: return __scone_sys_mprotect(a[0], a[1], a[2]);
	case 11: return __scone_prog_munmap(a[0], a[1]);
	case 12: return __scone_prog_brk(a[0]);
	case 13: return __scone_sys_rt_sigaction(a[0], (const void *)a[1], (void *)a[2], a[3]);
	case 14: return __scone_sys_rt_sigprocmask(a[0], (const void *)a[1], (void *)a[2], a[3]);
	case 25: return __scone_prog_mremap(a[0], a[1], a[2], a[3], a[4]);
	case 28: return __scone_sys_madvise(a[0], a[1], a[2]);
	case 99: return __scone_sys_sysinfo((void *)a[0]);
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
		__scone_fmap_flush_all();                 /* what Linux's page cache would keep */
		if (__scone_shield_on)
			__scone_shield_exit();
		__scone_exit((int)a[0]);
	case SCONE_NR_unmapself:
		/* The only thread leaves (threads come with a later issue). */
		__scone_prog_unmapself(a[0], a[1]);
		__scone_exit(0);
	case 15:                                          /* rt_sigreturn: handlers return normally */
		return -ENOSYS;
	case 26: return __scone_sys_msync(a[0], a[1], a[2]);
	case 27: return __scone_sys_mincore(a[0], a[1], (unsigned char *)a[2]);
	case 127: return __scone_sys_rt_sigpending((void *)a[0], a[1]);
	case 128: return __scone_sys_rt_sigtimedwait((const void *)a[0], (void *)a[1], (const void *)a[2], a[3]);
	case 130: return __scone_sys_rt_sigsuspend((const void *)a[0], a[1]);
	case 131: return __scone_sys_sigaltstack((const void *)a[0], (void *)a[1]);
	case 157: return __scone_sys_prctl(a[0], a[1], a[2], a[3], a[4]);
	case 200: return __scone_sys_tgkill(-1, a[0], a[1]);
	case 234: return __scone_sys_tgkill(a[0], a[1], a[2]);
	case 297: return -EPERM;                          /* rt_tgsigqueueinfo: no forged siginfo */
	case 274:                                         /* get_robust_list: the only thread's */
		if (a[0] && a[0] != cached(&__scone_rt.tid, 186))
			return -ESRCH;
		*(void **)a[1] = robust_head;
		*(unsigned long *)a[2] = 24;
		return 0;
	case 324: return a[0] == 0 ? 0 : -EINVAL;         /* membarrier: QUERY says none; switches are full barriers */
	case 56: case 435:                                /* clone, clone3 before the scheduler */
		__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not supported without the thread scheduler", name_of(sc->nr), sc->nr);
		return -ENOSYS;
	default:
		if (scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_UNSUPPORTED ||
		    scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_NONE) {
			__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not supported", name_of(sc->nr), sc->nr);
			return -ENOSYS;
		}
		if (scone_sys_class_of(sc->nr) == SCONE_SYS_CLASS_EXTERNAL) {
			/* The shields' one door (DESIGN.md §8); without a policy, a
			 * few compares (/proc/meminfo is served there too). */
			if (__scone_shield_wants(sc->nr)) {
				int handled;
				long r = __scone_shield_call(sc->nr, a, &handled);
				if (handled)
					return r;
			}
			return __scone_shield_host(sc->nr, a);
		}
		/* An internal call with no in-enclave half here (a thread call
		 * before the scheduler runs): never leave with its pointers. */
		if (sc->nr == 273) {                      /* set_robust_list */
			if (a[1] != 24)
				return -EINVAL;
			robust_head = (void *)a[0];
			return 0;
		}
		__scone_log(SCONE_LOG_WARN, "system call %s (%ld) is not served at this point", name_of(sc->nr), sc->nr);
		return -ENOSYS;
	}
}
