/* Untrusted memory: what the enclave may read from or write to the host. */
#include "internal.h"

/* 1 if [p, p+n) is a non-null range entirely outside the enclave. */
int __scone_host_range(uint64_t p, uint64_t n)
{
	uint64_t lo = __scone_rt.base, hi = __scone_rt.base + __scone_rt.size;
	if (!p || p + n < p)
		return 0;
	return p + n <= lo || p >= hi;
}
