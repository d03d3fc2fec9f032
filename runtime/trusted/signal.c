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
#define SA_ONSTACK 0x08000000ul
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)
#define MINSIGSTKSZ 2048
#define EPERM 1
#define ENOMEM 12
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
	unsigned char fields[48];          /* si_pid, si_uid, si_value, ... */
	char rest[64];
};

/* What a handler or sigwaitinfo learns of one signal. */
struct info {
	int code, errno_;
	unsigned char fields[48];
};

#define SI_USER 0
#define SI_TKILL (-6)
#define SIGRTFIRST 32

/* A raise()/tgkill from inside: SI_TKILL, our pid and uid. */
static void tkill_info(struct info *in)
{
	static long uid = -1;
	if (uid < 0)
		uid = __scone_ocall(102 /* getuid */, 0, 0, 0, 0, 0, 0);
	*in = (struct info){ .code = SI_TKILL };
	int id[2] = { (int)__scone_rt.pid, (int)uid };
	__scone_memcpy(in->fields, id, sizeof id);
}

/*
 * Queued signals (signal(7) "Queueing and delivery semantics"): a pending
 * bit (process-wide in pending, per lthread in the scheduler) says that a
 * signal is pending; this queue, under the lock, keeps each instance of a
 * real-time signal (32 and up) with its siginfo, and one instance of a
 * standard one (they coalesce, the first siginfo kept, as on Linux). tid 0:
 * process-directed. Taking a signal takes its oldest entry and sets the bit
 * again while more remain.
 */
#define QMAX 1024
static struct qsig {
	int sig;
	long tid;
	struct info in;
} queue[QMAX];
static unsigned qn;

/* Under the lock: -EAGAIN when a real-time signal finds the queue full
 * (sigqueue(3)'s EAGAIN), else 0. */
static long queue_add(long sig, long tid, const struct info *in)
{
	if (sig < SIGRTFIRST)
		for (unsigned i = 0; i < qn; i++)
			if (queue[i].sig == sig && queue[i].tid == tid)
				return 0;
	if (qn == QMAX)
		return sig < SIGRTFIRST ? 0 : -EAGAIN;
	queue[qn++] = (struct qsig){ (int)sig, tid, *in };
	return 0;
}

/* Under the lock: the oldest entry of sig for tid into *in (SI_USER from
 * nobody known if there is none); 1 if more remain. */
static int queue_take(long sig, long tid, struct info *in)
{
	unsigned i = 0;
	while (i < qn && !(queue[i].sig == sig && queue[i].tid == tid))
		i++;
	if (i == qn) {
		*in = (struct info){ .code = SI_USER };
		return 0;
	}
	*in = queue[i].in;
	for (qn--; i < qn; i++)
		queue[i] = queue[i + 1];
	for (unsigned j = 0; j < qn; j++)
		if (queue[j].sig == sig && queue[j].tid == tid)
			return 1;
	return 0;
}

static void to_siginfo(struct k_siginfo *si, long sig, const struct info *in)
{
	__scone_memset(si, 0, sizeof *si);
	si->signo = (int)sig;
	si->code = in->code;
	si->errno_ = in->errno_;
	__scone_memcpy(si->fields, in->fields, sizeof si->fields);
}

struct call {
	unsigned long handler, flags;
	int sig;
	struct k_siginfo *si;
};

static void invoke(struct call *c)
{
	if (c->flags & SA_SIGINFO)
		((void (*)(int, void *, void *))c->handler)(c->sig, c->si, 0);
	else
		((void (*)(int))c->handler)(c->sig);
}

/* invoke(c) with the stack pointer at top (16-aligned): the handler's
 * frames on the alternate stack; the lthread's own stays as it was. This
 * file is built without vector registers, so none is live across it. */
static void invoke_on(uintptr_t top, struct call *c)
{
	__asm__ __volatile__(
		"mov %%rsp, %%rbx\n\t"
		"mov %[top], %%rsp\n\t"
		"call *%[fn]\n\t"
		"mov %%rbx, %%rsp"
		: "+D"(c)
		: [top] "r"(top), [fn] "r"(invoke)
		: "rbx", "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static uintptr_t stack_pointer(void)
{
	uintptr_t sp;
	__asm__ __volatile__("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

/* Run sig's handler here, on the calling lthread, as the kernel would on
 * return to user space: with its mask added while it runs, and, under
 * SA_ONSTACK, on the thread's alternate stack unless a handler of the
 * thread runs on it already (sigaltstack(2): then it goes on where it is,
 * as it does on Linux once on the alternate stack). */
static void run_handler(long sig, const struct info *in)
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
	struct k_siginfo si;
	to_siginfo(&si, sig, in);
	struct call c = { a.handler, a.flags, (int)sig, &si };
	long self = __scone_sched_active() ? __scone_sched_sig_self() : 0;
	uintptr_t ss = 0, cur = stack_pointer();
	size_t size = 0;
	if ((a.flags & SA_ONSTACK) && self && __scone_sched_altstack_claim(self, &ss, &size)) {
		if (cur - ss < size)
			invoke(&c);                 /* on it already */
		else
			invoke_on((ss + size) & ~(uintptr_t)15, &c);
		__scone_sched_altstack_release(self);
	} else {
		invoke(&c);
	}
	__atomic_store_n(m, saved, __ATOMIC_SEQ_CST);
}

/* Deliver sig as raised by a thread at itself: handler, pending, ignore,
 * or the default action, which the host carries out on the whole process. */
static long deliver(long sig)
{
	struct info in;
	tkill_info(&in);
	long r = 0;
	lock();
	unsigned long h = actions[sig].handler;
	int masked = (*mask_of_self() & bit(sig)) != 0;
	if (h > SIG_IGN && masked && !__scone_sched_active()) {
		r = queue_add(sig, 0, &in);
		if (!r)
			pending |= bit(sig);
	}
	unlock();
	if (h > SIG_IGN && masked) {
		long self = __scone_sched_active() ? __scone_sched_gettid() : 0;
		/* Raised by a handler on the signal lthread, which blocks all:
		 * process-directed, for the next receiver, once this handler ends. */
		if (self && self == __atomic_load_n(&signal_tid, __ATOMIC_RELAXED)) {
			lock();
			r = queue_add(sig, 0, &in);
			if (!r)
				pending |= bit(sig);
			unlock();
		} else if (self) {
			lock();
			r = queue_add(sig, self, &in);
			unlock();
			if (!r)
				__scone_sched_signal_post(self, bit(sig));
		}
		wake_waiters();
		return r;
	}
	if (h > SIG_IGN) {
		run_handler(sig, &in);
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
	if (__scone_sched_signal_pick(tid, bit(sig)) < 0)
		return -ESRCH;
	struct info in;
	tkill_info(&in);
	lock();
	long r = queue_add(sig, tid, &in);
	unlock();
	if (!r)
		r = __scone_sched_signal_post(tid, bit(sig));
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
static long take(unsigned long want, struct info *in)
{
	lock();
	unsigned long p = pending & want;
	long sig = p ? __builtin_ctzl(p) + 1 : 0;
	if (sig && !queue_take(sig, 0, in))
		pending &= ~bit(sig);
	unlock();
	return sig;
}

/* The directed signal bit just taken for tid: its entry; the bit set again
 * while more remain. */
static long take_directed_entry(long tid, uint64_t b, struct info *in)
{
	long sig = __builtin_ctzl(b) + 1;
	lock();
	int more = queue_take(sig, tid, in);
	unlock();
	if (more)
		__scone_sched_signal_post(tid, b);
	return sig;
}

/* Take one signal pending for the calling thread in want: directed at it
 * first, then process-directed. */
static long take_for_self(unsigned long want, struct info *in)
{
	uint64_t b = __scone_sched_signal_take_own(want);
	return b ? take_directed_entry(__scone_sched_gettid(), b, in) : take(want, in);
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
	struct info in;
	uint64_t blocked;                  /* added to tid's mask by handle() */
} __attribute__((aligned(64)));

/* The handler for tid is done: what handle() blocked for it no longer is,
 * and a signal that waited for that can go. */
static void unblock_receiver(long tid, uint64_t blocked)
{
	if (!blocked)
		return;
	__scone_sched_sigmask_remove(tid, blocked);
	wake_waiters();
}

static int run_as_main(void *p)
{
	struct run_as w = *(struct run_as *)p;
	__scone_sched_set_sig_for(w.tid);
	run_handler(w.sig, &w.in);
	unblock_receiver(w.tid, w.blocked);
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
static void handle(long sig, long tid, const struct info *in)
{
	lock();
	int restart = (actions[sig].flags & SA_RESTART) != 0;
	uint64_t block = actions[sig].mask | (actions[sig].flags & SA_NODEFER ? 0 : bit(sig));
	unlock();
	/* The kernel blocks these in the receiver while its handler runs:
	 * so does this, before the handler lthread starts, so that the next
	 * one waits for it (and signals of one number run in order). */
	uint64_t blocked = __scone_sched_sigmask_add(tid, block);
	uint64_t fs = __scone_sched_signal_fs(tid);
	char *stack = fs ? mmap(0, AS_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
	if (stack != MAP_FAILED) {
		struct run_as *w = (struct run_as *)(stack + AS_STACK - sizeof *w);
		*w = (struct run_as){ sig, tid, restart, *in, blocked };
		if (__clone(run_as_main, w, AS_FLAGS, w, (int *)0, (void *)fs, (int *)0) > 0)
			return;
		munmap(stack, AS_STACK);
	}
	/* No memory or thread for it: here, on the signal lthread. */
	run_handler(sig, in);
	unblock_receiver(tid, blocked);
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
		struct info in;
		lock();
		int ours = (pending & bit(sig)) != 0;
		if (ours && !queue_take(sig, 0, &in))
			pending &= ~bit(sig);
		unlock();
		if (ours) {                         /* else a thread took it itself */
			handle(sig, tid, &in);
			return 1;
		}
	}
	uint64_t b;
	long tid = __scone_sched_signal_take_directed(&b);
	if (tid) {
		struct info in;
		long sig = take_directed_entry(tid, b, &in);
		handle(sig, tid, &in);
	}
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
		struct info in;
		long sig = take_for_self(~mask, &in);
		if (sig) {
			run_handler(sig, &in);
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
		struct info in;
		long sig = take_for_self(want, &in);
		if (sig) {
			if (info) {
				struct k_siginfo si;
				to_siginfo(&si, sig, &in);
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

/* sigaltstack(2) of the calling thread (a handler's receiver, for a
 * handler lthread). SS_AUTODISARM is accepted and has no effect: a
 * handler that switches away from the alternate stack is not possible
 * here. */
long __scone_sys_sigaltstack(const void *ss, void *old)
{
	struct stack_t { uintptr_t sp; int flags; size_t size; } n, o = { 0, SS_DISABLE, 0 };
	long self = __scone_sched_active() ? __scone_sched_sig_self() : 0;
	uintptr_t cur = stack_pointer();
	if (self)
		__scone_sched_altstack_get(self, &o.sp, &o.size);
	int on = o.size && cur - o.sp < o.size;
	o.flags = on ? SS_ONSTACK : o.size ? 0 : SS_DISABLE;
	if (ss) {
		__scone_memcpy(&n, ss, sizeof n);
		unsigned mode = (unsigned)n.flags & ~SS_AUTODISARM;
		if (mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE)
			return -EINVAL;
		if (on)
			return -EPERM;
		if (mode == SS_DISABLE) {
			n.sp = 0;
			n.size = 0;
		} else if (n.size < MINSIGSTKSZ) {
			return -ENOMEM;
		}
		if (!self && n.size) {
			__scone_log(SCONE_LOG_WARN, "sigaltstack before the thread scheduler runs: not kept");
			return -ENOMEM;
		}
		if (self)
			__scone_sched_altstack_set(self, n.sp, n.size);
	}
	if (old) {
		if (!o.size)
			o.sp = 0;
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
static uint64_t ring_head;               /* ours; the box's copy is for the host */

/* The next siginfo the host posted, copied once, or 0. */
static int ring_take(struct scone_signal_info *out)
{
	struct scone_signal_info *slot = &box->ring[ring_head % SCONE_SIGNAL_RING];
	if (__atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE) != (uint32_t)(ring_head + 1))
		return 0;
	__scone_memcpy(out, slot, sizeof *out);
	ring_head++;
	__atomic_store_n(&box->head, ring_head, __ATOMIC_RELEASE);
	return 1;
}

void __scone_signals_poll(void)
{
	if (!box)
		return;
	struct scone_signal_info *next = &box->ring[ring_head % SCONE_SIGNAL_RING];
	if (!__atomic_load_n(&box->pending, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&next->seq, __ATOMIC_RELAXED) != (uint32_t)(ring_head + 1))
		return;
	lock();
	unsigned long got = 0;
	struct scone_signal_info e;
	/* At most one ring's worth per poll: a host that refills it as fast
	 * as we drain does not keep us here. */
	for (int n = 0; n < SCONE_SIGNAL_RING && ring_take(&e); n++) {
		long sig = e.signo;
		if (sig < 1 || sig >= NSIG)
			continue;                   /* not a signal: nothing to forge */
		got |= bit(sig);
		if (!(registered & bit(sig)))
			continue;
		/* The host's word for who sent it and with what value: passed on
		 * as the kernel gave it (a host can forge a sender either way). */
		struct info in = { .code = e.code, .errno_ = e.errno_ };
		__scone_memcpy(in.fields, e.fields, sizeof in.fields);
		if (!queue_add(sig, 0, &in))
			pending |= bit(sig);
	}
	unsigned long lost = __atomic_exchange_n(&box->pending, 0, __ATOMIC_SEQ_CST);
	got |= lost;
	pending |= lost & registered;
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
	struct info in;
	for (long sig; (sig = take_for_self(~now, &in));)
		run_handler(sig, &in);
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
	struct info in;
	for (long sig; (sig = take_for_self(~mask, &in));)
		run_handler(sig, &in);
}
