/*
 * Signals (issue 5) as in-enclave state: dispositions, one mask, pending
 * signals. SIG_IGN and SIG_DFL are mirrored to the host, so that an ignored
 * SIGPIPE does not kill the process and Ctrl-C without a handler ends it by
 * the kernel's default action. For a signal with a handler the enclave asks
 * the host to forward it (enclave_abi.h scone_signal_box); forwarded and
 * raised signals are delivered by the signal lthread, which this file
 * starts with the first handler, and each handler runs as its receiver
 * (handle()). A signal the host posts that the enclave
 * never asked for is forged: it is logged and dropped (the SIGY lesson).
 *
 * Masks are per lthread (runtime/sched/sigtarget.c). The signal lthread
 * chooses the receiver as Linux does (the main thread unless it blocks the
 * signal, else another thread that does not; pthread_kill's target), runs
 * the handler, and only then interrupts the receiver: its futex wait or
 * sleep ends with EINTR, sigsuspend returns, and an external call it waits
 * for outside is cancelled (queue_abi.h), so that the call returns EINTR,
 * or is restarted under SA_RESTART where signal(7) says so, with the
 * handler's effects visible. A signal raised by a thread at itself runs its
 * handler at once, on that thread.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "../sched/scone_sched.h"
#include "client.h"
#include "misc.h"
#include "spin.h"

#define EINVAL 22
#define NSIG 65
#define SIGKILL 9
#define SIGSTOP 19
#define SIG_DFL 0ul
#define SIG_IGN 1ul
#define SIGCANCEL 33
#define SA_SIGINFO 4ul
#define SA_RESETHAND 0x80000000ul
#define SA_RESTART 0x10000000ul
#define SA_NODEFER 0x40000000ul
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
static unsigned long early_blocked;        /* the mask before the scheduler runs */
static unsigned long pending;              /* process-directed */
static unsigned long registered;           /* asked of the host */
static unsigned long forged;               /* posted but never asked for: to log */
static struct scone_signal_box *box;       /* host */
static int thread_started;
static long signal_tid;                    /* the signal lthread's */

static void wake_waiters(void);
static void interrupt(long tid, int restart);
/* Bumped whenever a signal becomes pending: sigsuspend and sigtimedwait
 * wait on it (an in-enclave futex, served by the scheduler). */
static uint32_t signal_seq;
static int sig_lock;

static void lock(void)
{
	scone_spin_lock(&sig_lock);
}

static void unlock(void)
{
	scone_spin_unlock(&sig_lock);
}

static unsigned long bit(long sig)
{
	return 1ul << (sig - 1);
}

/* The calling thread's mask: its lthread's, or the one mask before the
 * scheduler runs. Only the thread itself writes it. */
static unsigned long *mask_of_self(void)
{
	uint64_t *m = __scone_sched_active() ? __scone_sched_sigmask() : 0;
	return m ? (unsigned long *)m : &early_blocked;
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
	unsigned long *m = mask_of_self();
	lock();
	struct k_sigaction a = actions[sig];
	if (a.flags & SA_RESETHAND)
		actions[sig].handler = SIG_DFL;
	unlock();
	if (a.handler <= SIG_IGN) {
		/* Changed since it was chosen: ignored, or the default action. */
		if (a.handler == SIG_DFL)
			__scone_ocall(SYS_kill, __scone_rt.pid, sig, 0, 0, 0, 0);
		return;
	}
	unsigned long saved = *m;
	__atomic_store_n(m, saved | a.mask | bit(sig), __ATOMIC_SEQ_CST);
	if (a.flags & SA_SIGINFO) {
		struct k_siginfo si = { .signo = (int)sig, .code = -6 /* SI_TKILL */, .pid = (int)__scone_rt.pid };
		((void (*)(int, void *, void *))a.handler)((int)sig, &si, 0);
	} else {
		((void (*)(int))a.handler)((int)sig);
	}
	__atomic_store_n(m, saved, __ATOMIC_SEQ_CST);
}

/* Deliver sig as raised by a thread at itself: handler, pending, ignore,
 * or the default action, which the host carries out on the whole process. */
static long deliver(long sig)
{
	lock();
	unsigned long h = actions[sig].handler;
	int masked = (*mask_of_self() & bit(sig)) != 0;
	if (h > SIG_IGN && masked && !__scone_sched_active())
		pending |= bit(sig);
	unlock();
	if (h > SIG_IGN && masked) {
		long self = __scone_sched_active() ? __scone_sched_gettid() : 0;
		/* Raised by a handler on the signal lthread, which blocks all:
		 * process-directed, for the next receiver, once this handler ends. */
		if (self && self == __atomic_load_n(&signal_tid, __ATOMIC_RELAXED)) {
			lock();
			pending |= bit(sig);
			unlock();
		} else if (self) {
			__scone_sched_signal_post(self, bit(sig));
		}
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
	 * a futex (pthread_cond_wait, sem_wait, join) or outside (read, accept)
	 * sees EINTR and meets its cancellation point; any other acts at its
	 * next one. */
	if (sig == SIGCANCEL) {
		if (__scone_sched_active())
			interrupt(tid, 0);
		return 0;
	}
	if (!__scone_sched_active() || tid == __scone_sched_gettid())
		return deliver(sig);
	lock();
	unsigned long h = actions[sig].handler;
	unlock();
	if (h == SIG_IGN)
		return __scone_sched_signal_pick(tid, bit(sig)) < 0 ? -ESRCH : 0;
	if (h == SIG_DFL)
		return __scone_ocall(SYS_kill, __scone_rt.pid, sig, 0, 0, 0, 0);
	/* Another thread's: the signal lthread delivers it once tid allows. */
	long r = __scone_sched_signal_post(tid, bit(sig));
	if (!r)
		wake_waiters();
	return r;
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

/* Take one process-directed pending signal in want, or 0. */
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

/* Take one signal pending for the calling thread in want: directed at it
 * first, then process-directed. */
static long take_for_self(unsigned long want)
{
	uint64_t b = __scone_sched_signal_take_own(want);
	return b ? __builtin_ctzl(b) + 1 : take(want);
}

/* After a handler ran for thread tid: end its wait as the signal would. */
static void interrupt(long tid, int restart)
{
	uint64_t cookie;
	uint32_t pair;
	if (!__scone_sched_signal_interrupt(tid, restart, &cookie, &pair))
		return;
	wake_waiters();                     /* sigsuspend, sigtimedwait */
	if (cookie)
		__scone_cancel(pair, cookie);
}

/* musl's thread start (src/thread/x86_64/clone.s): a bare lthread that
 * musl's thread list never sees, so __synccall neither signals nor waits
 * for it, and pthread_create's __block_new_threads does not stop it. */
int __clone(int (*)(void *), void *, int, void *, ...);

/* CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS: a thread with the TLS given. */
#define AS_FLAGS 0xd0f00
#define AS_STACK (128ul << 10)         /* musl's default thread stack */

struct run_as {
	long sig, tid;
	int restart;
} __attribute__((aligned(64)));

static int run_as_main(void *p)
{
	struct run_as w = *(struct run_as *)p;
	run_handler(w.sig);
	interrupt(w.tid, w.restart);
	__scone_sched_unmapself((uintptr_t)p + sizeof w - AS_STACK, AS_STACK);
}

/* Run sig's handler for thread tid as the kernel does, on tid: with tid's
 * TLS, so pthread_self() and errno are tid's (musl's __synccall handler
 * acts only when pthread_self()->tid is the thread it signalled, then waits
 * for the caller), and on its own lthread, so that a handler that waits
 * does not hold up the signals of other threads (__synccall signals each
 * thread in turn while the earlier ones wait in their handlers). tid's own
 * wait is ended only after the handler returns (interrupt), so a receiver
 * blocked in a call stays in it meanwhile, as it would natively; one that
 * is running goes on running. */
static void handle(long sig, long tid)
{
	lock();
	int restart = (actions[sig].flags & SA_RESTART) != 0;
	unlock();
	uint64_t fs = __scone_sched_signal_fs(tid);
	char *stack = fs ? mmap(0, AS_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
	if (stack != MAP_FAILED) {
		struct run_as *w = (struct run_as *)(stack + AS_STACK - sizeof *w);
		*w = (struct run_as){ sig, tid, restart };
		if (__clone(run_as_main, w, AS_FLAGS, w, (int *)0, (void *)fs, (int *)0) > 0)
			return;
		munmap(stack, AS_STACK);
	}
	/* No memory or thread for it: here, on the signal lthread. */
	run_handler(sig);
	interrupt(tid, restart);
}

/* Deliver one pending signal to a thread that accepts it: 1 if one was. */
static int deliver_one(void)
{
	lock();
	unsigned long p = pending;
	unlock();
	for (long sig = 1; p; sig++) {
		if (!(p & bit(sig)))
			continue;
		p &= ~bit(sig);
		long tid = __scone_sched_signal_pick(0, bit(sig));
		if (tid <= 0)
			continue;                   /* every thread blocks it: stays pending */
		lock();
		int ours = (pending & bit(sig)) != 0;
		pending &= ~bit(sig);
		unlock();
		if (ours) {                         /* else a thread took it itself */
			handle(sig, tid);
			return 1;
		}
	}
	uint64_t b;
	long tid = __scone_sched_signal_take_directed(&b);
	if (tid)
		handle(__builtin_ctzl(b) + 1, tid);
	return tid != 0;
}

static int signal_main(void *arg)
{
	(void)arg;
	/* Never a receiver itself: it only runs handlers for the others. */
	__atomic_store_n(mask_of_self(), ~0ul, __ATOMIC_SEQ_CST);
	__atomic_store_n(&signal_tid, __scone_sched_gettid(), __ATOMIC_RELAXED);
	for (;;) {
		uint32_t seq = __atomic_load_n(&signal_seq, __ATOMIC_SEQ_CST);
		lock();
		unsigned long f = forged;
		forged = 0;
		unlock();
		for (long sig = 1; f; sig++)
			if (f & bit(sig)) {
				f &= ~bit(sig);
				__scone_log(SCONE_LOG_WARN, "signal %d from the host ignored: the application installed no handler for it, so the enclave never asked for it (forged)",
					    (int)sig);
			}
		if (deliver_one())
			continue;
		__scone_sched_futex(&signal_seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
	}
}

long __scone_sys_rt_sigsuspend(const void *set, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long mask, *m = mask_of_self();
	__scone_memcpy(&mask, set, 8);
	mask &= ~(bit(SIGKILL) | bit(SIGSTOP));
	uint32_t intr = __scone_sched_sigintr();
	unsigned long saved = *m;
	__atomic_store_n(m, mask, __ATOMIC_SEQ_CST);
	/* The signal lthread may now choose this thread. */
	wake_waiters();
	for (;;) {
		uint32_t seq = __atomic_load_n(&signal_seq, __ATOMIC_SEQ_CST);
		long sig = take_for_self(~mask);
		if (sig) {
			run_handler(sig);
			break;
		}
		/* The signal lthread ran a handler for this thread. */
		if (__scone_sched_sigintr() != intr)
			break;
		__scone_sched_futex(&signal_seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
	}
	__atomic_store_n(m, saved, __ATOMIC_SEQ_CST);
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
		long sig = take_for_self(want);
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

static int signal_main(void *arg);

/* A bare lthread too (see __clone above), never freed: as a pthread it would
 * be one of the threads __synccall signals, and it blocks every signal. It
 * shares the main thread's TLS (which lives as long as the process, unlike
 * the creator's) for the few libc calls it makes itself. */
static void start_signal_thread(void)
{
	if (__atomic_exchange_n(&thread_started, 1, __ATOMIC_SEQ_CST))
		return;
	char *stack = mmap(0, AS_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t fs = __scone_sched_signal_fs(__scone_rt.tid);
	if (!fs)
		fs = __scone_sched_signal_fs(__scone_sched_gettid());
	if (stack != MAP_FAILED &&
	    __clone(signal_main, stack + AS_STACK, AS_FLAGS, 0, (int *)0, (void *)fs, (int *)0) > 0)
		return;
	if (stack != MAP_FAILED)
		munmap(stack, AS_STACK);
	__atomic_store_n(&thread_started, 0, __ATOMIC_SEQ_CST);
	__scone_log(SCONE_LOG_WARN, "no thread to run signal handlers: signals will stay pending");
}

/* SIGILL, SIGBUS, SIGFPE, SIGSEGV: the host keeps its own handler for
 * them (a fault of enclave code is delivered to the host thread running
 * it; untrusted/faults.c) and learns the disposition instead of a mirror. */
#define FAULT_SIGNALS (bit(4) | bit(7) | bit(8) | bit(11))

/* Ask the host to forward sig (or not), and have the signal lthread ready
 * to run its handler; h is the new handler (SIG_DFL, SIG_IGN or a
 * function). musl's own signals (32-34) never come from outside. */
static void forward_ask(long sig, unsigned long h)
{
	int on = h > SIG_IGN, fault = (bit(sig) & FAULT_SIGNALS) != 0;
	if (on && __scone_sched_active())
		start_signal_thread();
	if (sig >= 32 && sig <= 34)
		return;
	lock();
	if (on)
		registered |= bit(sig);
	else
		registered &= ~bit(sig);
	unlock();
	/* Off: the mirrored SIG_DFL or SIG_IGN has replaced the host's handler. */
	if (!box || (!on && !fault))
		return;
	long mode = on ? SCONE_SIGFORWARD_ON : h == SIG_IGN ? SCONE_SIGFORWARD_IGN : SCONE_SIGFORWARD_OFF;
	long r = __scone_ocall(SCONE_OCALL_SIGFORWARD, sig, mode, 0, 0, 0, 0);
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
		/* musl's own signals (32-34) never come from the host, which
		 * keeps 34 for itself (untrusted/setid.c). */
		if ((sig < 32 || sig > 34) && !(bit(sig) & FAULT_SIGNALS))
			__scone_external_desc(13 /* rt_sigaction */, &mirror, a);
		forward_ask(sig, h);
	}
	return 0;
}

long __scone_sys_rt_sigprocmask(long how, const void *set, void *oset, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long *m = mask_of_self(), old = *m, s = 0, now = old;
	if (set) {
		__scone_memcpy(&s, set, 8);
		switch (how) {
		case 0: now |= s; break;           /* SIG_BLOCK */
		case 1: now &= ~s; break;          /* SIG_UNBLOCK */
		case 2: now = s; break;            /* SIG_SETMASK */
		default: return -EINVAL;
		}
		now &= ~((1ul << (SIGKILL - 1)) | (1ul << (SIGSTOP - 1)));
		__atomic_store_n(m, now, __ATOMIC_SEQ_CST);
	}
	if (oset)
		__scone_memcpy(oset, &old, 8);
	/* Unblocked pending signals run now, on this lthread, before the call
	 * returns, as the kernel delivers them (raise() relies on it). */
	for (long sig; (sig = take_for_self(~now));)
		run_handler(sig);
	if (old & ~now)
		wake_waiters();
	return 0;
}

/* A fault of the calling thread (exception.c): the kernel runs the
 * handler if there is one and the thread does not block the signal; else
 * the fault ends the process (force_sig_fault). */
int __scone_signal_fault_handled(long sig)
{
	lock();
	unsigned long h = actions[sig].handler;
	unlock();
	return h > SIG_IGN && !(*mask_of_self() & bit(sig));
}

unsigned long __scone_signal_fault_enter(long sig, unsigned long *flags, unsigned long *saved)
{
	unsigned long *m = mask_of_self();
	if (*m & bit(sig))
		return 0;
	lock();
	struct k_sigaction a = actions[sig];
	if (a.handler > SIG_IGN && (a.flags & SA_RESETHAND))
		actions[sig].handler = SIG_DFL;
	unlock();
	if (a.handler <= SIG_IGN)
		return 0;
	*saved = *m;
	*flags = a.flags;
	__atomic_store_n(m, *m | a.mask | (a.flags & SA_NODEFER ? 0 : bit(sig)), __ATOMIC_SEQ_CST);
	return a.handler;
}

void __scone_signal_fault_leave(unsigned long mask)
{
	__atomic_store_n(mask_of_self(), mask & ~(bit(SIGKILL) | bit(SIGSTOP)), __ATOMIC_SEQ_CST);
	/* Unblocked pending signals run now, as on return from a handler. */
	for (long sig; (sig = take_for_self(~mask));)
		run_handler(sig);
}
