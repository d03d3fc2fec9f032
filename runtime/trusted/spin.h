/*
 * A spinlock for the runtime's own short critical sections (table work and
 * copies). Never hold one across a system call: an lthread parks there and
 * every other lthread wanting the lock would spin on its ethread meanwhile.
 */
#ifndef SCONE_TRUSTED_SPIN_H
#define SCONE_TRUSTED_SPIN_H

static inline void scone_spin_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		__asm__ __volatile__("pause");
}

static inline void scone_spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

#endif
