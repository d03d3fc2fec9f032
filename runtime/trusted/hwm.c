/*
 * High-water marks: how much heap, stack, arena and how many threads a run
 * needed, so that an enclave can be signed with sizes that fit it
 * (`scone-sign size`) instead of by trial and error.
 *
 * The figures rise as the program runs and are copied at once into the
 * host's struct scone_hwm (enclave_abi.h), so that the starter can write
 * them out however the process ends. What each costs:
 *   - heap: the allocator's peak of pages in use, updated under its lock
 *     when it rises (memory.c): exact;
 *   - TCS stacks (main runs on TCS 0's, each ethread's scheduler on its
 *     own): sampled at every context switch, then, at exit, to the lowest
 *     non-zero word: stacks are EADDed zero and nothing clears them, so a
 *     scan up from the bottom finds the deepest frame that stored anything
 *     (a return address at least). A large frame that is stored to only
 *     here and there (lzf_compress's 512 KiB hash table in redis) is not
 *     all seen that way; in SIM, where the host's pages back the enclave's,
 *     the pages ever written are asked first (mincore: the frame's
 *     stack-clash probes are writes), exact to the page, when the file is
 *     asked for (SCONE_LOG=info alone scans the content). Only when asked
 *     (the host's SCONE_HWM_SCAN, or SCONE_LOG=info): it reads the
 *     untouched part of every stack once;
 *   - pthread stacks (musl's, from the heap): sampled at every context
 *     switch, and, when asked (as for the TCS stacks), found exactly as
 *     each thread exits (and for those alive at exit): from the bottom of
 *     the stack musl mapped for it (libc_patch src/scone/pthread_stack.c,
 *     its guard pages included: an enclave cannot make them inaccessible)
 *     up to the lowest word ever written non-zero; heap pages are zero when
 *     handed out (heap.c). Word-exact, but as for the TCS stacks without
 *     SIM's page check, a frame whose lowest part is never written is seen
 *     from its lowest written word; a stack the program gave (attribute
 *     stack) that was not zero counts in full;
 *   - arena: the largest marshalled call (marshal.c), exact.
 */
#include "client.h"
#include "../sched/scone_sched.h"

static struct scone_hwm *host;   /* untrusted, write-only from here */
static struct scone_hwm mine;    /* the enclave's own copy */
static int scan;
static int sim;
static int finished;
static const char *prog = "BINARY";

#define PUT(field, v) do { mine.field = (v); if (host) host->field = (v); } while (0)

static int raise_to(uint64_t *mine_field, uint64_t v)
{
	uint64_t cur = __atomic_load_n(mine_field, __ATOMIC_RELAXED);
	while (v > cur)
		if (__atomic_compare_exchange_n(mine_field, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return 1;
	return 0;
}

void __scone_hwm_init(uint64_t host_block, int want_scan, int in_sim)
{
	const struct scone_enclave_config *c = __scone_rt.cfg;
	if (host_block && !(host_block % 64) && __scone_host_range(host_block, sizeof *host)) {
		host = (struct scone_hwm *)host_block;
		scan = (host->flags & SCONE_HWM_SCAN) != 0;
		sim = in_sim && scan;   /* the pages: for the file only (one OCALL per 16 MiB) */
	}
	scan |= want_scan;
	PUT(heap_size, c->heap_size);
	PUT(stack_size, c->stack_size);
	PUT(tcs_count, c->tcs_count);
	PUT(ethreads, __scone_rt.ethreads);
	PUT(arena_unit, __scone_client.unit_bytes);
	__scone_hwm_lthreads(1);   /* main */
	if (host) {                /* what rose before this block was known */
		mine.flags = host->flags;
		__scone_memcpy(host, &mine, sizeof mine);
	}
}

void __scone_hwm_name(const char *argv0)
{
	if (argv0 && *argv0)
		prog = argv0;
}

const char *__scone_hwm_prog(void)
{
	return prog;
}

void __scone_hwm_heap(uint64_t bytes)
{
	if (raise_to(&mine.heap_peak, bytes) && host)
		host->heap_peak = mine.heap_peak;
}

uint64_t __scone_hwm_heap_peak(void)
{
	return mine.heap_peak;
}

void __scone_hwm_refused(uint64_t bytes)
{
	if (raise_to(&mine.heap_refused, bytes) && host)
		host->heap_refused = mine.heap_refused;
}

void __scone_hwm_arena_note(uint64_t bytes)
{
	if (raise_to(&mine.arena_peak, bytes) && host)
		host->arena_peak = mine.arena_peak;
}

void __scone_hwm_lthreads(unsigned live)
{
	uint32_t cur = __atomic_load_n(&mine.lthreads_peak, __ATOMIC_RELAXED);
	while (live > cur)
		if (__atomic_compare_exchange_n(&mine.lthreads_peak, &cur, live, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			if (host)
				host->lthreads_peak = live;
			break;
		}
}

/* The scheduler saw an lthread at stack pointer sp; top is its stack's top
 * when the scheduler knows it (a clone), else 0 (one of the TCS stacks). */
void __scone_hwm_sp(uintptr_t top, uintptr_t sp)
{
	const struct scone_enclave_config *c = __scone_rt.cfg;
	uintptr_t off = sp - __scone_rt.base;
	for (uint32_t i = 0; c && i < c->tcs_count; i++) {
		const struct scone_thread_layout *t = &c->threads[i];
		if (off >= t->stack_lo && off < t->stack_hi) {
			if (raise_to(&mine.stack_peak[i], t->stack_hi - off) && host)
				host->stack_peak[i] = mine.stack_peak[i];
			return;
		}
	}
	if (top > sp && raise_to(&mine.lthread_stack_peak, top - sp) && host)
		host->lthread_stack_peak = mine.lthread_stack_peak;
}

/* SIM only: bytes from the lowest page of [lo, hi) the process ever
 * wrote (or read: run before the content scan) up to hi, by the host's
 * mincore through a synchronous OCALL (SIM lets the host write vec). */
static uint64_t resident_of(uintptr_t lo, uintptr_t hi)
{
	static unsigned char vec[4096];
	for (uintptr_t at = lo; at < hi;) {
		uintptr_t n = (hi - at) / 4096 < sizeof vec ? (hi - at) / 4096 : sizeof vec;
		if (__scone_ocall(27 /* mincore */, (long)at, (long)(n * 4096), (long)vec, 0, 0, 0))
			return 0;
		for (uintptr_t i = 0; i < n; i++)
			if (vec[i] & 1)
				return (uint64_t)(hi - (at + i * 4096));
		at += n * 4096;
	}
	return 0;
}

static uint64_t used_of(uintptr_t lo, uintptr_t hi)
{
	const uint64_t *p = (const uint64_t *)lo, *end = (const uint64_t *)hi;
	while (p + 8 <= end && !(p[0] | p[1] | p[2] | p[3] | p[4] | p[5] | p[6] | p[7]))
		p += 8;
	while (p < end && !*p)
		p++;
	return (uint64_t)(hi - (uintptr_t)p);
}

void __scone_hwm_mib(char *out, uint64_t v)
{
	/* "12.3 MiB" without floating point (no vector registers here). */
	uint64_t t = (v * 10 + (1 << 19)) >> 20;
	char d[24];
	int n = 0;
	uint64_t w = t / 10;
	do {
		d[n++] = (char)('0' + w % 10);
		w /= 10;
	} while (w);
	while (n)
		*out++ = d[--n];
	*out++ = '.';
	*out++ = (char)('0' + t % 10);
	__scone_memcpy(out, " MiB", 5);
}

/* A pthread's stack at its end (the scheduler's exit, or ours at exit). */
void __scone_hwm_thread_end(uint64_t fs, uintptr_t top)
{
	if (!scan)
		return;
	uintptr_t lo = __scone_pthread_stack_lo((uintptr_t)fs);
	uintptr_t base = __scone_rt.base, end = base + __scone_rt.size;
	/* The thread pointer is the program's: trust it as far as the enclave goes. */
	if (!lo || lo >= top || lo < base || top > end)
		return;
	uint64_t u = used_of((lo + 7) & ~(uintptr_t)7, top & ~(uintptr_t)7);
	if (raise_to(&mine.lthread_stack_peak, u) && host)
		host->lthread_stack_peak = mine.lthread_stack_peak;
}

/* At exit or abort: the exact stack figures, then the block for SCONE_LOG=info. */
void __scone_hwm_finish(void)
{
	if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL))
		return;
	const struct scone_enclave_config *c = __scone_rt.cfg;
	int info = __scone_rt.log_level >= SCONE_LOG_INFO;
	uint64_t deepest = 0;
	if (c && (scan || info)) {
		for (uint32_t i = 0; i < c->tcs_count; i++) {
			const struct scone_thread_layout *t = &c->threads[i];
			uintptr_t lo = __scone_rt.base + t->stack_lo, hi = __scone_rt.base + t->stack_hi;
			uint64_t r = sim ? resident_of(lo, hi) : 0;
			uint64_t u = used_of(lo, hi);
			if (r > u)
				u = r;
			if (raise_to(&mine.stack_peak[i], u) && host)
				host->stack_peak[i] = mine.stack_peak[i];
		}
	}
	if (c && (scan || info) && __scone_sched_active())
		__scone_sched_each_clone(__scone_hwm_thread_end);
	for (uint32_t i = 0; c && i < c->tcs_count; i++)
		if (mine.stack_peak[i] > deepest)
			deepest = mine.stack_peak[i];
	if (host)
		__atomic_store_n(&host->final, 1, __ATOMIC_RELEASE);
	if (!info)
		return;
	char a[32], b[32];
	__scone_hwm_mib(a, mine.heap_peak);
	__scone_hwm_mib(b, mine.heap_size);
	__scone_log(SCONE_LOG_INFO, "high-water marks: heap %s of %s (%lu bytes)", a, b,
		    (unsigned long)mine.heap_peak);
	__scone_log(SCONE_LOG_INFO, "high-water marks: deepest enclave-thread stack %lu KiB of %lu KiB; pthread stacks %lu KiB",
		    (unsigned long)((deepest + 1023) >> 10), (unsigned long)(mine.stack_size >> 10),
		    (unsigned long)((mine.lthread_stack_peak + 1023) >> 10));
	for (uint32_t i = 0; c && i < c->tcs_count; i++)
		if (mine.stack_peak[i])
			__scone_log(SCONE_LOG_INFO, "high-water marks: stack of enclave thread %u: %lu bytes", i,
				    (unsigned long)mine.stack_peak[i]);
	__scone_log(SCONE_LOG_INFO, "high-water marks: lthreads %u at once, ethreads %u of %u TCS, arena %lu of %lu bytes per call",
		    mine.lthreads_peak, mine.ethreads, mine.tcs_count, (unsigned long)mine.arena_peak,
		    (unsigned long)mine.arena_unit);
}
