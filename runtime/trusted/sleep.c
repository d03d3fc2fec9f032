/*
 * nanosleep and clock_nanosleep as timed futex waits on a word nobody
 * wakes: pthread_cancel and handled signals (signal.c) can then end a sleep
 * the way they end any futex wait; the sleeper meets its cancellation point
 * (musl's sleeps are cancellation points) or returns EINTR with the time
 * left. Timing is the scheduler's (clock.c).
 */
#include "../sched/scone_sched.h"
#include "misc.h"

#define EINVAL 22
#define EINTR 4
#define ETIMEDOUT 110
#define FUTEX_WAIT_BITSET_PRIVATE (9 | 128)
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1
#define NS 1000000000ull

struct ts {
	long s, ns;
};

static uint32_t never_woken;

long __scone_sys_clock_nanosleep(long clock, long flags, const void *req, void *rem)
{
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
		return __scone_sched_clock_nanosleep(clock, flags, req, rem);
	struct ts t;
	__scone_memcpy(&t, req, sizeof t);
	if (t.s < 0 || t.ns < 0 || t.ns >= (long)NS)
		return -EINVAL;
	uint64_t d = (uint64_t)t.s * NS + (uint64_t)t.ns, mono = __scone_clock_now(CLOCK_MONOTONIC), deadline;
	if (!(flags & TIMER_ABSTIME))
		deadline = mono + d;
	else if (clock != CLOCK_REALTIME)
		deadline = d;
	else {
		uint64_t rt = __scone_clock_now(CLOCK_REALTIME);
		deadline = d > rt ? mono + (d - rt) : mono;
	}
	struct ts abs = { (long)(deadline / NS), (long)(deadline % NS) };
	long r = __scone_sched_futex(&never_woken, FUTEX_WAIT_BITSET_PRIVATE, 0, (uintptr_t)&abs, 0, SCONE_SCHED_SLEEP_BITSET);
	if (r == -ETIMEDOUT || r == -EINVAL)
		return r == -EINVAL ? r : 0;
	/* Ended early: by a signal (EINTR, whatever SA_RESTART says: signal(7)
	 * never restarts sleeps), by pthread_cancel, or spuriously. */
	if (rem && !(flags & TIMER_ABSTIME)) {
		uint64_t now = __scone_clock_now(CLOCK_MONOTONIC), left = deadline > now ? deadline - now : 0;
		struct ts o = { (long)(left / NS), (long)(left % NS) };
		__scone_memcpy(rem, &o, sizeof o);
	}
	return -EINTR;
}

long __scone_sys_nanosleep(const void *req, void *rem)
{
	return __scone_sys_clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
}
