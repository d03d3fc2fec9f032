/*
 * Signal receivers (scone_sched.h "signals"): per-lthread masks and
 * pending sets, the list of live lthreads to choose a receiver from as
 * Linux does (signal(7): a process-directed signal goes to the main thread
 * if it does not block it, else to any thread that does not), and the
 * interruption of the receiver's wait.
 *
 * Interruption against a call in flight is a Dekker pair: the interrupter
 * bumps sigintr, then reads ext_cookie; the caller stores ext_cookie once
 * posted, then compares sigintr with what it was before the call (client.c).
 * Either the interrupter sees the cookie and cancels the call, or the caller
 * sees the bump and cancels it itself (or both; a second cancel is harmless).
 */
#include "internal.h"

#define ESRCH 3
#define S __scone_sched

void __scone_lthread_join_all(struct lthread *l, struct lthread *parent)
{
	/* A new thread starts with its creator's mask (clone(2)). */
	l->sigmask = parent ? __atomic_load_n(&parent->sigmask, __ATOMIC_RELAXED) : 0;
	spin_lock(&S.all_lock);
	l->all_prev = 0;
	l->all_next = S.all;
	if (S.all)
		S.all->all_prev = l;
	S.all = l;
	spin_unlock(&S.all_lock);
}

void __scone_lthread_leave_all(struct lthread *l)
{
	spin_lock(&S.all_lock);
	if (l->all_prev)
		l->all_prev->all_next = l->all_next;
	else
		S.all = l->all_next;
	if (l->all_next)
		l->all_next->all_prev = l->all_prev;
	if (S.main_l == l)
		S.main_l = 0;
	spin_unlock(&S.all_lock);
}

void __scone_sched_each_clone(void (*fn)(uint64_t fs, uintptr_t top))
{
	spin_lock(&S.all_lock);
	for (struct lthread *l = S.all; l; l = l->all_next)
		if (l->stack_top)
			fn(l->fs, l->stack_top);
	spin_unlock(&S.all_lock);
}

static struct lthread *find(long tid)
{
	for (struct lthread *l = S.all; l; l = l->all_next)
		if (l->tid == tid)
			return l;
	return 0;
}

int __scone_lthread_live(long tid)
{
	spin_lock(&S.all_lock);
	int live = find(tid) != 0;
	spin_unlock(&S.all_lock);
	return live;
}

long __scone_lthread_robust_of(long tid, void **head)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l)
		*head = l->robust_head;
	spin_unlock(&S.all_lock);
	return l ? 0 : -ESRCH;
}

static int blocks(struct lthread *l, uint64_t bit)
{
	return (__atomic_load_n(&l->sigmask, __ATOMIC_RELAXED) & bit) != 0;
}

uint64_t *__scone_sched_sigmask(void)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	return l ? &l->sigmask : 0;
}

long __scone_sched_signal_pick(long tid, uint64_t bit)
{
	long r = 0;
	spin_lock(&S.all_lock);
	if (tid > 0) {
		struct lthread *l = find(tid);
		r = !l ? -ESRCH : blocks(l, bit) ? 0 : tid;
	} else if (S.main_l && !blocks(S.main_l, bit)) {
		r = S.main_l->tid;
	} else {
		for (struct lthread *l = S.all; l && !r; l = l->all_next)
			if (!blocks(l, bit))
				r = l->tid;
	}
	spin_unlock(&S.all_lock);
	return r;
}

/* Thread tid's FS base (its TLS and pthread_self), 0 if it is gone: a
 * handler run for tid runs with it, as the kernel runs it on tid. */
uint64_t __scone_sched_signal_fs(long tid)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	uint64_t fs = l ? l->fs : 0;
	spin_unlock(&S.all_lock);
	return fs;
}

long __scone_sched_signal_post(long tid, uint64_t bit)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l)
		__atomic_fetch_or(&l->sigpending, bit, __ATOMIC_SEQ_CST);
	spin_unlock(&S.all_lock);
	return l ? 0 : -ESRCH;
}

static uint64_t take_bit(struct lthread *l, uint64_t want)
{
	uint64_t p = __atomic_load_n(&l->sigpending, __ATOMIC_SEQ_CST);
	while (p & want) {
		uint64_t b = (p & want) & -(p & want);
		if (__atomic_compare_exchange_n(&l->sigpending, &p, p & ~b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return b;
	}
	return 0;
}

long __scone_sched_signal_take_directed(uint64_t *bit)
{
	long r = 0;
	spin_lock(&S.all_lock);
	for (struct lthread *l = S.all; l && !r; l = l->all_next) {
		uint64_t b = take_bit(l, ~__atomic_load_n(&l->sigmask, __ATOMIC_RELAXED));
		if (b) {
			*bit = b;
			r = l->tid;
		}
	}
	spin_unlock(&S.all_lock);
	return r;
}

uint64_t __scone_sched_signal_take_own(uint64_t want)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	return l ? take_bit(l, want) : 0;
}

int __scone_sched_signal_interrupt(long tid, int restart, uint64_t *cookie, uint32_t *pair)
{
	*cookie = 0;
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l) {
		__atomic_store_n(&l->sig_restart, restart, __ATOMIC_RELAXED);
		__atomic_fetch_add(&l->sigintr, 1, __ATOMIC_SEQ_CST);
		*cookie = __atomic_load_n(&l->ext_cookie, __ATOMIC_SEQ_CST);
		*pair = __atomic_load_n(&l->ext_pair, __ATOMIC_RELAXED);
	}
	spin_unlock(&S.all_lock);
	if (l)
		__scone_futex_interrupt(tid, 1, restart);
	return l != 0;
}

uint32_t __scone_sched_sigintr(void)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	return l ? __atomic_load_n(&l->sigintr, __ATOMIC_SEQ_CST) : 0;
}

int __scone_sched_sig_restart(void)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	return l && __atomic_load_n(&l->sig_restart, __ATOMIC_RELAXED);
}

void __scone_sched_ext_set(uint64_t cookie, uint32_t pair)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	if (!l)
		return;
	__atomic_store_n(&l->ext_pair, pair, __ATOMIC_RELAXED);
	__atomic_store_n(&l->ext_cookie, cookie, __ATOMIC_SEQ_CST);
}

int __scone_sched_ext_get(uint64_t *cookie, uint32_t *pair)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	if (!l)
		return 0;
	*pair = __atomic_load_n(&l->ext_pair, __ATOMIC_RELAXED);
	*cookie = __atomic_load_n(&l->ext_cookie, __ATOMIC_SEQ_CST);
	return *cookie != 0;
}

long __scone_sched_sig_self(void)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	return !l ? 0 : l->sig_for ? l->sig_for : l->tid;
}

void __scone_sched_set_sig_for(long tid)
{
	this_lthread()->sig_for = tid;
}

long __scone_sched_altstack_get(long tid, uintptr_t *sp, size_t *size)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l) {
		*sp = l->ss_sp;
		*size = l->ss_size;
	}
	spin_unlock(&S.all_lock);
	return l ? 0 : -ESRCH;
}

void __scone_sched_altstack_set(long tid, uintptr_t sp, size_t size)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l) {
		l->ss_sp = sp;
		l->ss_size = size;
	}
	spin_unlock(&S.all_lock);
}

int __scone_sched_altstack_claim(long tid, uintptr_t *sp, size_t *size)
{
	int r = 0;
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l && l->ss_size && !l->ss_busy) {
		l->ss_busy = 1;
		*sp = l->ss_sp;
		*size = l->ss_size;
		r = 1;
	}
	spin_unlock(&S.all_lock);
	return r;
}

void __scone_sched_altstack_release(long tid)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l)
		l->ss_busy = 0;
	spin_unlock(&S.all_lock);
}

uint64_t __scone_sched_sigmask_add(long tid, uint64_t bits)
{
	uint64_t added = 0;
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l)
		added = bits & ~__atomic_fetch_or(&l->sigmask, bits, __ATOMIC_SEQ_CST);
	spin_unlock(&S.all_lock);
	return added;
}

void __scone_sched_sigmask_remove(long tid, uint64_t bits)
{
	spin_lock(&S.all_lock);
	struct lthread *l = find(tid);
	if (l)
		__atomic_fetch_and(&l->sigmask, ~bits, __ATOMIC_SEQ_CST);
	spin_unlock(&S.all_lock);
}
