/* Untrusted memory: what the enclave may read from or write to the host. */
#include "internal.h"

/* User space ends here on x86-64 with 4-level paging (the canonical lower
 * half). Linux maps nothing above it without an explicit hint even under
 * 5-level paging, and the starter gives none: anything higher is a
 * non-canonical address or the kernel's. */
#define USER_TOP (1ull << 47)
/* Nothing is ever mapped below Linux's default vm.mmap_min_addr, and the
 * starter maps nothing there: a host pointer into it is a lie. */
#define USER_BOTTOM (64ull << 10)

/*
 * 1 if [p, p+n) is a region of host memory: not empty, not in the first
 * 64 KiB, entirely canonical user space, and touching no byte of the enclave.
 * Every operand is bounded before the sum, so nothing here can wrap.
 */
int __scone_host_range(uint64_t p, uint64_t n)
{
	uint64_t lo = __scone_rt.base, hi = __scone_rt.base + __scone_rt.size;
	if (p < USER_BOTTOM || !n || p >= USER_TOP || n > USER_TOP - p)
		return 0;
	return p + n <= lo || p >= hi;
}
