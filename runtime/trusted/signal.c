/*
 * Signals (issue 5) as in-enclave state: dispositions, one mask, pending
 * signals. SIG_IGN and SIG_DFL are mirrored to the host, so that an ignored
 * SIGPIPE does not kill the process and Ctrl-C without a handler ends it by
 * the kernel's default action. For a signal with a handler the enclave asks
 * the host to forward it (enclave_abi.h scone_signal_box); forwarded and
 * raised signals run their handlers on the signal lthread, which this file
 * starts with the first handler. A signal the host posts that the enclave
 * never asked for is forged: it is logged and dropped (the SIGY lesson).
 */
#include <pthread.h>

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
static unsigned long registered;           /* asked of the host */
static unsigned long forged;               /* posted but never asked for: to log */
static struct scone_signal_box *box;       /* host */
static int thread_started;

static void wake_waiters(void);
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
	if (h > SIG_IGN && masked)
		pending |= bit(sig);
	unlock();
	if (h > SIG_IGN && masked) {
		wake_waiters();
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
	/* pthread_cancel has set the target's flag already: a target waiting on
	 * a futex (pthread_cond_wait, sem_wait, join) wakes spuriously and
	 * meets its cancellation point again; any other acts at its next one. */
	if (sig == SIGCANCEL) {
		if (__scone_sched_active())
			__scone_sched_futex_interrupt(tid);
		return 0;
	}
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

static void *signal_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint32_t seq = __atomic_load_n(&signal_seq, __ATOMIC_SEQ_CST);
		lock();
		unsigned long f = forged, deliverable = ~blocked;
		forged = 0;
		unlock();
		for (long sig = 1; f; sig++)
			if (f & bit(sig)) {
				f &= ~bit(sig);
				__scone_log(SCONE_LOG_WARN, "signal %d from the host ignored: the application installed no handler for it, so the enclave never asked for it (forged)",
					    (int)sig);
			}
		long sig = take(deliverable);
		if (sig) {
			run_handler(sig);
			continue;
		}
		__scone_sched_futex(&signal_seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
	}
	return 0;
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

static void *signal_main(void *arg);

/* Ask the host to forward sig (or not), and have the signal lthread ready
 * to run its handler. musl's own signals (32-34) never come from outside. */
static void forward_ask(long sig, int on)
{
	if (sig >= 32 && sig <= 34)
		return;
	lock();
	if (on)
		registered |= bit(sig);
	else
		registered &= ~bit(sig);
	unlock();
	/* Off: the mirrored SIG_DFL or SIG_IGN has replaced the host's handler. */
	if (!box || !on)
		return;
	if (!thread_started && __scone_sched_active()) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (!pthread_create(&t, &a, signal_main, 0))
			thread_started = 1;
	}
	long r = __scone_ocall(SCONE_OCALL_SIGFORWARD, sig, 1, 0, 0, 0, 0);
	if (r)
		__scone_log(SCONE_LOG_WARN, "signal %d: the host refused to forward it (error %ld)", (int)sig, -r);
}

void __scone_signals_init(uint64_t host_box)
{
	if (host_box && host_box % 64 == 0 && __scone_host_range(host_box, sizeof *box))
		box = (struct scone_signal_box *)host_box;
}

static void wake_waiters(void)
{
	__atomic_add_fetch(&signal_seq, 1, __ATOMIC_SEQ_CST);
	if (__scone_sched_active())
		__scone_sched_futex(&signal_seq, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

/* Called from every poll, possibly inside a switch: no logging, no
 * blocking here; the signal lthread does both. */
void __scone_signals_poll(void)
{
	if (!box || !__atomic_load_n(&box->pending, __ATOMIC_RELAXED))
		return;
	unsigned long got = __atomic_exchange_n(&box->pending, 0, __ATOMIC_SEQ_CST);
	lock();
	pending |= got & registered;
	forged |= got & ~registered;
	unlock();
	if (got)
		wake_waiters();
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
		forward_ask(sig, h > SIG_IGN);
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
	/* Unblocked pending signals run now, on this lthread, before the call
	 * returns, as the kernel delivers them (raise() relies on it). */
	for (long sig; (sig = take(~blocked));)
		run_handler(sig);
	if (pending & ~blocked)
		wake_waiters();
	return 0;
}
