/* A test-and-test-and-set lock: held for a few instructions only, never
 * across a context switch. */
#ifndef SCONE_SCHED_SPIN_H
#define SCONE_SCHED_SPIN_H

#include <stdatomic.h>

struct spin {
	atomic_int v;
};

static inline int spin_trylock(struct spin *s)
{
	return !atomic_load_explicit(&s->v, memory_order_relaxed) &&
	       !atomic_exchange_explicit(&s->v, 1, memory_order_acquire);
}

static inline void spin_lock(struct spin *s)
{
	while (!spin_trylock(s))
		__asm__ __volatile__("pause" ::: "memory");
}

static inline void spin_unlock(struct spin *s)
{
	atomic_store_explicit(&s->v, 0, memory_order_release);
}

#endif
