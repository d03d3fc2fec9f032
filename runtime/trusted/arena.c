/*
 * Arena units (queue_abi.h): one per external call in flight, so that a
 * caller parked by the scheduler keeps its arguments and results apart
 * from every other call until it has copied them back.
 */
#include "../sched/scone_sched.h"
#include "client.h"

char *__scone_unit_sync(void)
{
	struct scone_client *c = &__scone_client;
	return c->arena + (uint64_t)(c->units - 1 - __scone_tcs_index()) * c->unit_bytes;
}

char *__scone_unit_get(void)
{
	struct scone_client *c = &__scone_client;
	size_t words = (c->async_units + 63) / 64;
	for (;;) {
		for (size_t i = 0; i < words; i++) {
			unsigned long v = atomic_load_explicit(&c->unit_free[i], memory_order_relaxed);
			while (v) {
				unsigned b = (unsigned)__builtin_ctzl(v);
				if (atomic_fetch_and(&c->unit_free[i], ~(1ul << b)) & (1ul << b))
					return c->arena + (i * 64 + b) * c->unit_bytes;
				v = atomic_load_explicit(&c->unit_free[i], memory_order_relaxed);
			}
		}
		/* Every unit is in flight: finish some calls first. On an lthread,
		 * yield, so that the lthreads those calls wake can free their units. */
		__scone_poll();
		if (__scone_on_lthread())
			__scone_sched_yield();
		else
			__asm__ __volatile__("pause");
	}
}

void __scone_unit_put(char *unit)
{
	struct scone_client *c = &__scone_client;
	uint64_t u = (uint64_t)(unit - c->arena) / c->unit_bytes;
	atomic_fetch_or(&c->unit_free[u / 64], 1ul << (u % 64));
}
