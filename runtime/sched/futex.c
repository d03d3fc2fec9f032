/*
 * Futexes served in the enclave: every lthread shares one address space,
 * so private and shared futexes are the same thing, keyed by address.
 * Waiters queue in hashed buckets; a waiter is taken off its queue by
 * exactly one party (a waker, or its timer), which then unparks it, so each
 * park ends exactly once. Requeue moves waiters between buckets and changes
 * their fw_bucket under both locks.
 *
 * PI futexes (FUTEX_LOCK_PI, _UNLOCK_PI, _TRYLOCK_PI) keep the kernel's
 * owner word: the owner's TID, FUTEX_WAITERS while someone is queued,
 * FUTEX_OWNER_DIED after a robust owner's death. Their waiters are plain
 * waiters of the word's bucket: UNLOCK_PI releases the word and wakes the
 * first, which takes the word again itself (a thread that barges in first
 * wins, and the woken one queues again with FUTEX_WAITERS). There is no
 * priority to inherit: lthreads are scheduled cooperatively, without
 * priorities, so the owner already runs as soon as it can; what matches
 * the kernel is ownership and its errors (EDEADLK, EPERM, ESRCH).
 */
#include "internal.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define EPERM 1
#define ESRCH 3
#define EINTR 4
#define EDEADLK 35
#define FUTEX_CMD_MASK ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

#define NBUCKETS 256

struct bucket {
	struct spin lock;
	struct lthread *head, *tail;
} __attribute__((aligned(64)));

static struct bucket buckets[NBUCKETS];

static struct bucket *bucket_of(const uint32_t *a)
{
	uint64_t h = ((uintptr_t)a >> 2) * 0x9e3779b97f4a7c15ull;
	return &buckets[h >> 56];
}

static void enqueue(struct bucket *b, struct lthread *l)
{
	l->fw_next = 0;
	l->fw_prev = b->tail;
	if (b->tail)
		b->tail->fw_next = l;
	else
		b->head = l;
	b->tail = l;
	l->fw_queued = 1;
	atomic_store(&l->fw_bucket, b);
}

static void unlink_w(struct bucket *b, struct lthread *l)
{
	if (l->fw_prev)
		l->fw_prev->fw_next = l->fw_next;
	else
		b->head = l->fw_next;
	if (l->fw_next)
		l->fw_next->fw_prev = l->fw_prev;
	else
		b->tail = l->fw_prev;
	l->fw_queued = 0;
}

/* Lock the bucket l is queued in (requeue may move it meanwhile). */
static struct bucket *lock_own(struct lthread *l)
{
	for (;;) {
		struct bucket *b = atomic_load(&l->fw_bucket);
		spin_lock(&b->lock);
		if (atomic_load(&l->fw_bucket) == b)
			return b;
		spin_unlock(&b->lock);
	}
}

/* The timer's side: 1 if l was still queued (it now times out). */
int __scone_futex_unqueue(struct lthread *l)
{
	struct bucket *b = lock_own(l);
	int queued = l->fw_queued;
	if (queued)
		unlink_w(b, l);
	spin_unlock(&b->lock);
	return queued;
}

/*
 * End lthread tid's futex wait, if it is in one. pthread_cancel's kick
 * (tgkill SIGCANCEL, signal 0): as a spurious wake-up; musl's waits then
 * loop back through their cancellation point, which acts on the cancel
 * flag. A handled signal: with EINTR, as the kernel's FUTEX_WAIT; under
 * SA_RESTART the kernel would restart the wait, so it goes on, except for
 * a sleep, which signal(7) never restarts.
 */
long __scone_futex_interrupt(long tid, int signal, int restart)
{
	for (int i = 0; i < NBUCKETS; i++) {
		struct bucket *b = &buckets[i];
		spin_lock(&b->lock);
		for (struct lthread *l = b->head; l; l = l->fw_next) {
			if (l->tid != tid)
				continue;
			if (signal && restart && l->fw_bitset != SCONE_SCHED_SLEEP_BITSET) {
				spin_unlock(&b->lock);
				return 0;
			}
			unlink_w(b, l);
			l->fw_eintr = signal;
			spin_unlock(&b->lock);
			__scone_sched_unpark(l);
			return 1;
		}
		spin_unlock(&b->lock);
	}
	return 0;
}

long __scone_sched_futex_interrupt(long tid)
{
	return __scone_futex_interrupt(tid, 0, 0);
}

/* Take up to n waiters on a (bitset-matching) off b into *list. */
static long take(struct bucket *b, const uint32_t *a, long n, uint32_t bitset, struct lthread **list)
{
	long k = 0;
	for (struct lthread *l = b->head, *nx; l && k < n; l = nx) {
		nx = l->fw_next;
		if (l->fw_addr != a || !(l->fw_bitset & bitset))
			continue;
		unlink_w(b, l);
		l->fw_wake = *list;
		*list = l;
		k++;
	}
	return k;
}

static void unpark_all(struct lthread *list)
{
	/* Reversed by take(); wake in queue order. */
	struct lthread *r = 0;
	while (list) {
		struct lthread *nx = list->fw_wake;
		list->fw_wake = r;
		r = list;
		list = nx;
	}
	while (r) {
		struct lthread *nx = r->fw_wake;
		__scone_sched_unpark(r);
		r = nx;
	}
}

long __scone_futex_wake(uint32_t *a, long n, uint32_t bitset)
{
	struct bucket *b = bucket_of(a);
	struct lthread *list = 0;
	spin_lock(&b->lock);
	long k = take(b, a, n, bitset, &list);
	spin_unlock(&b->lock);
	unpark_all(list);
	return k;
}

static long wait(uint32_t *a, uint32_t val, uint32_t bitset, const void *ts, long clock, int absolute)
{
	uint64_t deadline = 0;
	if (ts) {
		long r = __scone_deadline(clock, absolute, ts, &deadline);
		if (r)
			return r;
	}
	struct lthread *l = this_lthread();
	struct bucket *b = bucket_of(a);
	spin_lock(&b->lock);
	if (__atomic_load_n(a, __ATOMIC_SEQ_CST) != val) {
		spin_unlock(&b->lock);
		return -EAGAIN;
	}
	l->fw_addr = a;
	l->fw_bitset = bitset;
	l->timed_out = 0;
	l->fw_eintr = 0;
	enqueue(b, l);
	spin_unlock(&b->lock);
	if (ts)
		__scone_timer_add(l, deadline);
	__scone_sched_park(l);
	if (ts)
		__scone_timer_cancel(l);
	l->fw_addr = 0;
	return l->timed_out ? -ETIMEDOUT : l->fw_eintr ? -EINTR : 0;
}

static void lock2(struct bucket *b1, struct bucket *b2)
{
	if (b1 == b2) {
		spin_lock(&b1->lock);
	} else if (b1 < b2) {
		spin_lock(&b1->lock);
		spin_lock(&b2->lock);
	} else {
		spin_lock(&b2->lock);
		spin_lock(&b1->lock);
	}
}

static void unlock2(struct bucket *b1, struct bucket *b2)
{
	spin_unlock(&b1->lock);
	if (b2 != b1)
		spin_unlock(&b2->lock);
}

static long requeue(uint32_t *a, long nwake, long nmove, uint32_t *a2, int cmp, uint32_t val3)
{
	if (nwake < 0 || nmove < 0)
		return -EINVAL;
	struct bucket *b1 = bucket_of(a), *b2 = bucket_of(a2);
	struct lthread *list = 0;
	lock2(b1, b2);
	if (cmp && __atomic_load_n(a, __ATOMIC_SEQ_CST) != val3) {
		unlock2(b1, b2);
		return -EAGAIN;
	}
	long k = take(b1, a, nwake, ~0u, &list);
	for (struct lthread *l = b1->head, *nx; l && nmove; l = nx) {
		nx = l->fw_next;
		if (l->fw_addr != a)
			continue;
		unlink_w(b1, l);
		l->fw_addr = a2;
		enqueue(b2, l);
		nmove--;
		k++;
	}
	unlock2(b1, b2);
	unpark_all(list);
	return k;
}

static int sext12(uint32_t v)
{
	return (int)(v << 20) >> 20;
}

static long wake_op(uint32_t *a, long n, uint32_t *a2, long n2, uint32_t code)
{
	unsigned op = (code >> 28) & 7, shift = (code >> 31) & 1, cmp = (code >> 24) & 15;
	int oparg = sext12(code >> 12), cmparg = sext12(code);
	if (shift)
		oparg = 1 << (oparg & 31);
	if (op > 4 || cmp > 5)
		return -ENOSYS;
	if ((uintptr_t)a2 & 3)
		return -EINVAL;
	struct bucket *b1 = bucket_of(a), *b2 = bucket_of(a2);
	struct lthread *list = 0;
	lock2(b1, b2);
	uint32_t old = __atomic_load_n(a2, __ATOMIC_RELAXED), nv;
	do {
		switch (op) {
		case 0: nv = (uint32_t)oparg; break;
		case 1: nv = old + (uint32_t)oparg; break;
		case 2: nv = old | (uint32_t)oparg; break;
		case 3: nv = old & ~(uint32_t)oparg; break;
		default: nv = old ^ (uint32_t)oparg; break;
		}
	} while (!__atomic_compare_exchange_n(a2, &old, nv, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	int o = (int)old, hit;
	switch (cmp) {
	case 0: hit = o == cmparg; break;
	case 1: hit = o != cmparg; break;
	case 2: hit = o < cmparg; break;
	case 3: hit = o <= cmparg; break;
	case 4: hit = o > cmparg; break;
	default: hit = o >= cmparg; break;
	}
	long k = take(b1, a, n, ~0u, &list);
	if (hit)
		k += take(b2, a2, n2, ~0u, &list);
	unlock2(b1, b2);
	unpark_all(list);
	return k;
}

static int queued_on(struct bucket *b, const uint32_t *a)
{
	for (struct lthread *l = b->head; l; l = l->fw_next)
		if (l->fw_addr == a)
			return 1;
	return 0;
}

/* futex_lock_pi_atomic(), under b's lock: 0 when the caller now owns a,
 * 1 when it must wait (FUTEX_WAITERS then set), else -errno. */
static long pi_try(struct bucket *b, uint32_t *a, long tid, int will_wait)
{
	uint32_t v = __atomic_load_n(a, __ATOMIC_SEQ_CST), nv;
	for (;;) {
		uint32_t owner = v & FUTEX_TID_MASK;
		if (owner == (uint32_t)tid)
			return -EDEADLK;
		if (!owner) {
			nv = (v & FUTEX_OWNER_DIED) | (uint32_t)tid | (queued_on(b, a) ? FUTEX_WAITERS : 0);
		} else {
			if (!will_wait)
				return -EAGAIN;
			if (!__scone_lthread_live(owner)) {
				/* handle_exit_race(): the owner may have released
				 * the word and exited since v was read. Only a word
				 * still naming a thread that is gone is ESRCH. */
				uint32_t now = __atomic_load_n(a, __ATOMIC_SEQ_CST);
				if (now != v) {
					v = now;
					continue;
				}
				return -ESRCH;
			}
			if (v & FUTEX_WAITERS)
				return 1;
			nv = v | FUTEX_WAITERS;
		}
		if (__atomic_compare_exchange_n(a, &v, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return owner ? 1 : 0;
	}
}

/* FUTEX_LOCK_PI (timeout absolute, CLOCK_REALTIME) and FUTEX_TRYLOCK_PI.
 * A signal does not end the wait (the kernel restarts it). */
static long lock_pi(uint32_t *a, const void *ts, int try)
{
	uint64_t deadline = 0;
	if (ts) {
		long r = __scone_deadline(0, 1, ts, &deadline);
		if (r)
			return r;
	}
	struct lthread *l = this_lthread();
	struct bucket *b = bucket_of(a);
	for (;;) {
		spin_lock(&b->lock);
		long r = pi_try(b, a, l->tid, !try);
		if (r <= 0) {
			spin_unlock(&b->lock);
			return r;
		}
		l->fw_addr = a;
		l->fw_bitset = ~0u;
		l->timed_out = 0;
		l->fw_eintr = 0;
		enqueue(b, l);
		spin_unlock(&b->lock);
		if (ts)
			__scone_timer_add(l, deadline);
		__scone_sched_park(l);
		if (ts)
			__scone_timer_cancel(l);
		l->fw_addr = 0;
		if (l->timed_out)
			return -ETIMEDOUT;
	}
}

static long unlock_pi(uint32_t *a)
{
	long tid = this_lthread()->tid;
	struct bucket *b = bucket_of(a);
	struct lthread *list = 0;
	spin_lock(&b->lock);
	uint32_t v = __atomic_load_n(a, __ATOMIC_SEQ_CST);
	do {
		if ((v & FUTEX_TID_MASK) != (uint32_t)tid) {
			spin_unlock(&b->lock);
			return -EPERM;
		}
	} while (!__atomic_compare_exchange_n(a, &v, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	take(b, a, 1, ~0u, &list);
	spin_unlock(&b->lock);
	unpark_all(list);
	return 0;
}

long __scone_sched_futex(uint32_t *a, long op, uint32_t val, uintptr_t t, uint32_t *a2, uint32_t val3)
{
	int cmd = (int)(op & FUTEX_CMD_MASK);
	int rt = (op & FUTEX_CLOCK_REALTIME) != 0;
	if ((uintptr_t)a & 3)
		return -EINVAL;
	if (rt && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
		return -ENOSYS;
	/* Counts are ints to the kernel; its wake loops wake one at least. */
	long n = (int)val, n2 = (int)t;
	long w = n > 0 ? n : 1, w2 = n2 > 0 ? n2 : 1;
	switch (cmd) {
	case FUTEX_WAIT:
		return wait(a, val, ~0u, (const void *)t, 1, 0);
	case FUTEX_WAIT_BITSET:
		if (!val3)
			return -EINVAL;
		return wait(a, val, val3, (const void *)t, rt ? 0 : 1, 1);
	case FUTEX_WAKE:
		return __scone_futex_wake(a, w, ~0u);
	case FUTEX_WAKE_BITSET:
		if (!val3)
			return -EINVAL;
		return __scone_futex_wake(a, w, val3);
	case FUTEX_REQUEUE:
		return requeue(a, n, n2, a2, 0, 0);
	case FUTEX_CMP_REQUEUE:
		return requeue(a, n, n2, a2, 1, val3);
	case FUTEX_WAKE_OP:
		return wake_op(a, w, a2, w2, val3);
	case FUTEX_LOCK_PI:
		return lock_pi(a, (const void *)t, 0);
	case FUTEX_TRYLOCK_PI:
		return lock_pi(a, 0, 1);
	case FUTEX_UNLOCK_PI:
		return unlock_pi(a);
	default:
		return -ENOSYS;
	}
}
