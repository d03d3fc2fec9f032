/*
 * Signal dispositions and the signal mask as in-enclave state. Delivery into
 * the enclave comes with a later issue: until then a handler is recorded but
 * never runs. SIG_IGN and SIG_DFL are mirrored to the host, so that, e.g.,
 * an ignored SIGPIPE does not kill the process.
 */
#include "../sched/scone_sched.h"
#include "client.h"
#include "misc.h"

#define EINVAL 22
#define NSIG 65
#define SIGKILL 9
#define SIGSTOP 19
#define SIG_DFL 0ul
#define SIG_IGN 1ul
#define SIGCANCEL 33
#define SA_SIGINFO 4ul
#define SA_RESETHAND 0x80000000ul
#define EAGAIN 11
#define EINTR 4
#define ESRCH 3
#define SYS_kill 62
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_WAIT_BITSET_PRIVATE 137

struct k_sigaction {               /* the kernel's layout, as musl passes it */
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long mask;
};

static struct k_sigaction actions[NSIG];
static unsigned long blocked;
static unsigned long pending;
/* Bumped whenever a signal becomes pending: sigsuspend and sigtimedwait
 * wait on it (an in-enclave futex, served by the scheduler). */
static uint32_t signal_seq;
static int sig_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&sig_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ __volatile__("pause");
}

static void unlock(void)
{
	__atomic_store_n(&sig_lock, 0, __ATOMIC_RELEASE);
}

static unsigned long bit(long sig)
{
	return 1ul << (sig - 1);
}

struct k_siginfo {
	int signo, errno_, code, pad;
	int pid, uid;
	char rest[104];
};

/* Run sig's handler here, on the calling lthread, as the kernel would on
 * return to user space: with its mask added while it runs. */
static void run_handler(long sig)
{
	lock();
	struct k_sigaction a = actions[sig];
	if (a.flags & SA_RESETHAND)
		actions[sig].handler = SIG_DFL;
	unsigned long saved = blocked;
	blocked |= a.mask | bit(sig);
	unlock();
	if (a.flags & SA_SIGINFO) {
		struct k_siginfo si = { .signo = (int)sig, .code = -6 /* SI_TKILL */, .pid = (int)__scone_rt.pid };
		((void (*)(int, void *, void *))a.handler)((int)sig, &si, 0);
	} else {
		((void (*)(int))a.handler)((int)sig);
	}
	lock();
	blocked = saved;
	unlock();
}

/* Deliver sig as raised in the enclave: handler, pending, ignore, or the
 * default action, which the host carries out on the whole process. */
static long deliver(long sig)
{
	lock();
	unsigned long h = actions[sig].handler;
	int masked = (blocked & bit(sig)) != 0;
	if (h > SIG_IGN && masked) {
		pending |= bit(sig);
		__atomic_add_fetch(&signal_seq, 1, __ATOMIC_SEQ_CST);
	}
	unlock();
	if (h > SIG_IGN && masked) {
		__scone_sched_futex(&signal_seq, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
		return 0;
	}
	if (h > SIG_IGN) {
		run_handler(sig);
		return 0;
	}
	if (h == SIG_IGN)
		return 0;
	return __scone_ocall(SYS_kill, __scone_rt.pid, sig, 0, 0, 0, 0);
}

long __scone_sys_tgkill(long tgid, long tid, long sig)
{
	if (sig < 0 || sig >= NSIG || tid <= 0 || (tgid != -1 && tgid != __scone_rt.pid))
		return tgid != -1 && tgid != __scone_rt.pid ? -ESRCH : -EINVAL;
	if (!sig)
		return 0;
	/* pthread_cancel has set the target's flag already: it acts at the
	 * target's next cancellation point (deferred cancellation). */
	if (sig == SIGCANCEL)
		return 0;
	return deliver(sig);
}

long __scone_sys_rt_sigpending(void *set, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	lock();
	unsigned long p = pending;
	unlock();
	__scone_memcpy(set, &p, 8);
	return 0;
}

/* Take one pending signal in want, or 0. */
static long take(unsigned long want)
{
	lock();
	unsigned long p = pending & want;
	long sig = p ? __builtin_ctzl(p) + 1 : 0;
	if (sig)
		pending &= ~bit(sig);
	unlock();
	return sig;
}

long __scone_sys_rt_sigsuspend(const void *set, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long mask;
	__scone_memcpy(&mask, set, 8);
	lock();
	unsigned long saved = blocked;
	blocked = mask & ~(bit(SIGKILL) | bit(SIGSTOP));
	unlock();
	for (;;) {
		uint32_t seq = __atomic_load_n(&signal_seq, __ATOMIC_SEQ_CST);
		long sig = take(~mask);
		if (sig) {
			run_handler(sig);
			break;
		}
		__scone_sched_futex(&signal_seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
	}
	lock();
	blocked = saved;
	unlock();
	return -EINTR;
}

long __scone_sys_rt_sigtimedwait(const void *set, void *info, const void *timeout, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long want;
	__scone_memcpy(&want, set, 8);
	struct { long s, ns; } ts = { 0, 0 }, abs;
	if (timeout) {
		__scone_memcpy(&ts, timeout, sizeof ts);
		if (ts.s < 0 || ts.ns < 0 || ts.ns >= 1000000000)
			return -EINVAL;
		uint64_t now = __scone_clock_now(1) + (uint64_t)ts.s * 1000000000u + (uint64_t)ts.ns;
		abs.s = (long)(now / 1000000000u);
		abs.ns = (long)(now % 1000000000u);
	}
	for (;;) {
		uint32_t seq = __atomic_load_n(&signal_seq, __ATOMIC_SEQ_CST);
		long sig = take(want);
		if (sig) {
			if (info) {
				struct k_siginfo si = { .signo = (int)sig, .code = -6, .pid = (int)__scone_rt.pid };
				__scone_memcpy(info, &si, sizeof si);
			}
			return sig;
		}
		/* CLOCK_MONOTONIC, absolute: the bitset form takes an absolute time. */
		long r = __scone_sched_futex(&signal_seq, FUTEX_WAIT_BITSET_PRIVATE | 0, seq,
					     timeout ? (uintptr_t)&abs : 0, 0, ~0u);
		if (r == -110)
			return -EAGAIN;
	}
}

long __scone_sys_sigaltstack(const void *ss, void *old)
{
	/* Handlers run on their lthread's own stack: an alternate stack is
	 * accepted and reported as disabled. */
	(void)ss;
	if (old) {
		struct { void *sp; int flags; unsigned long size; } o = { 0, 2 /* SS_DISABLE */, 0 };
		__scone_memcpy(old, &o, sizeof o);
	}
	return 0;
}

long __scone_sys_rt_sigaction(long sig, const void *act, void *oact, unsigned long size)
{
	if (size != 8 || sig < 1 || sig >= NSIG)
		return -EINVAL;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (oact)
		__scone_memcpy(oact, &actions[sig], sizeof actions[sig]);
	if (act) {
		__scone_memcpy(&actions[sig], act, sizeof actions[sig]);
		unsigned long h = actions[sig].handler;
		struct k_sigaction host = { .handler = h == SIG_IGN ? SIG_IGN : SIG_DFL };
		/* Marshalled like an external call: sig, act in, no oact, size. */
		static const struct scone_sys_desc mirror = {
			SCONE_SYS_CLASS_EXTERNAL, 4, SCONE_RET_VALUE, SCONE_SYS_NOARG,
			{ { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 },
			  { SCONE_ARG_IN, SCONE_SYS_NOARG, sizeof host },
			  { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 },
			  { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 } } };
		const long a[6] = { sig, (long)&host, 0, 8 };
		__scone_external_desc(13 /* rt_sigaction */, &mirror, a);
		if (h > SIG_IGN)
			__scone_log(SCONE_LOG_DEBUG, "signal %d: handler recorded; signal delivery into the enclave is not implemented yet", (int)sig);
	}
	return 0;
}

long __scone_sys_rt_sigprocmask(long how, const void *set, void *oset, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long old = blocked, s = 0;
	if (set) {
		__scone_memcpy(&s, set, 8);
		switch (how) {
		case 0: blocked |= s; break;       /* SIG_BLOCK */
		case 1: blocked &= ~s; break;      /* SIG_UNBLOCK */
		case 2: blocked = s; break;        /* SIG_SETMASK */
		default: return -EINVAL;
		}
		blocked &= ~((1ul << (SIGKILL - 1)) | (1ul << (SIGSTOP - 1)));
	}
	if (oset)
		__scone_memcpy(oset, &old, 8);
	return 0;
}
