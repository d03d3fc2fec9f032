/*
 * Timed parking: one deadline-ordered list of lthreads (monotonic ns),
 * fired by whichever ethread schedules next. Deciding who times out holds
 * the timer lock, and a woken lthread cancels its entry under the same
 * lock, so a firing never touches an lthread that has gone on (lock order:
 * timer, then futex bucket). The ones that do time out stay parked until
 * this side unparks them, after the lock is released.
 */
#include "internal.h"

#define NSEC 1000000000ull
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1

struct ts {
	long sec, nsec;
};

static struct spin lock;
static struct lthread *head;
static atomic_int count;
static _Atomic uint64_t first;           /* head's deadline, or ~0 */

void __scone_timer_add(struct lthread *l, uint64_t deadline)
{
	l->deadline = deadline;
	spin_lock(&lock);
	struct lthread **p = &head;
	while (*p && (*p)->deadline <= deadline)
		p = &(*p)->t_next;
	l->t_next = *p;
	*p = l;
	l->t_on = 1;
	atomic_fetch_add(&count, 1);
	int earliest = head == l;
	atomic_store(&first, head->deadline);
	spin_unlock(&lock);
	/* A sleeping ethread chose its wake-up time before this deadline. */
	if (earliest)
		__scone_sched_kick_sleeper();
}

void __scone_timer_cancel(struct lthread *l)
{
	spin_lock(&lock);
	if (l->t_on) {
		struct lthread **p = &head;
		while (*p != l)
			p = &(*p)->t_next;
		*p = l->t_next;
		l->t_on = 0;
		atomic_fetch_sub(&count, 1);
		atomic_store(&first, head ? head->deadline : ~0ull);
	}
	spin_unlock(&lock);
}

int __scone_timer_pending(void)
{
	return atomic_load_explicit(&count, memory_order_relaxed);
}

uint64_t __scone_timer_next(void)
{
	return __scone_timer_pending() ? atomic_load(&first) : 0;
}

void __scone_timer_run(void)
{
	if (!__scone_timer_pending())
		return;
	uint64_t now = __scone_sched.ops->now(CLOCK_MONOTONIC);
	if (now < atomic_load(&first) || !spin_trylock(&lock))
		return;
	struct lthread *fired = 0;
	while (head && head->deadline <= now) {
		struct lthread *l = head;
		head = l->t_next;
		l->t_on = 0;
		atomic_fetch_sub(&count, 1);
		/* A futex waiter times out only if no waker took it first. */
		if (!l->fw_addr || __scone_futex_unqueue(l)) {
			l->timed_out = 1;
			l->t_next = fired;
			fired = l;
		}
	}
	atomic_store(&first, head ? head->deadline : ~0ull);
	spin_unlock(&lock);
	while (fired) {
		struct lthread *nx = fired->t_next;
		__scone_sched_unpark(fired);
		fired = nx;
	}
}

static int bad_ts(const struct ts *t)
{
	return t->sec < 0 || t->nsec < 0 || (unsigned long)t->nsec >= NSEC;
}

static uint64_t ts_ns(const struct ts *t)
{
	if ((unsigned long)t->sec >= ~0ull / NSEC - 1)
		return ~0ull >> 1;               /* far enough: never */
	return (uint64_t)t->sec * NSEC + (uint64_t)t->nsec;
}

/* The monotonic deadline of a timeout on clock, relative or absolute. A
 * realtime deadline is converted once: later clock steps do not move it. */
long __scone_deadline(long clock, int absolute, const void *p, uint64_t *out)
{
	const struct ts *t = p;
	if (bad_ts(t))
		return -EINVAL;
	uint64_t mono = __scone_sched.ops->now(CLOCK_MONOTONIC), d = ts_ns(t);
	if (!absolute) {
		*out = mono + d;
		return 0;
	}
	if (clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME) {
		*out = d;
		return 0;
	}
	uint64_t rt = __scone_sched.ops->now(CLOCK_REALTIME);
	*out = d > rt ? mono + (d - rt) : mono;
	return 0;
}

static long sleep_until(uint64_t deadline)
{
	struct lthread *l = this_lthread();
	l->fw_addr = 0;
	l->timed_out = 0;
	__scone_timer_add(l, deadline);
	__scone_sched_park(l);
	return 0;
}

long __scone_sched_clock_nanosleep(long clock, long flags, const void *req, void *rem)
{
	(void)rem;                           /* written on EINTR only: no signals yet */
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
		return -EINVAL;
	if (!req)
		return -EFAULT;
	uint64_t deadline;
	long r = __scone_deadline(clock, flags & TIMER_ABSTIME, req, &deadline);
	return r ? r : sleep_until(deadline);
}

long __scone_sched_nanosleep(const void *req, void *rem)
{
	return __scone_sched_clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
}
