/*
 * Time inside the enclave (DESIGN.md §5 "Time"). The host keeps a time
 * page current (enclave_abi.h scone_time_page, untrusted/timepage.c); a
 * read copies it under its sequence counter, checks the copy and, where
 * RDTSC is legal in the enclave (SCONE_START_RDTSC: SGX2, or SIM's sgx2
 * and lax profiles), extrapolates from the sample with the host's TSC
 * rate. On SGX1 no RDTSC runs here (it raises #UD there): the time is the
 * last sample, at most a tick old, and the scheduler refreshes it exactly
 * after each timed sleep outside (__scone_clock_resync).
 *
 * Trust: the host's time is untrusted whatever path it takes (an OCALL's
 * answer is no better). What the enclave guarantees itself: a copy that is
 * consistent (one sample, not a mix of two), values in range (seconds below
 * 2^62 ns, a TSC rate between 0.1 and 10 ns per cycle, an extrapolation of at
 * most EXTRAPOLATE_MAX), and monotonic clocks that never go back, for every
 * thread: each keeps the highest value any read returned (an atomic
 * maximum), and a read never returns less. A host that stops the page only
 * stops the enclave's time, as one that never answered an OCALL would.
 * With no page, or a page that fails the checks, each read asks the host
 * through an OCALL, as before the page existed.
 *
 * Quiet idle: while every ethread sleeps outside, the enclave says so in
 * the page (idle) and the host stops sampling after a few ticks (parked).
 * A read while parked asks the host, so time never comes from a stale
 * sample; the first ethread to wake wakes the sampling thread. Both words
 * are the host's to lie about: a lie costs exits or accuracy, as any
 * answer of the host's clock can.
 */
#include "client.h"

#define SYS_clock_gettime 228
#define SYS_futex 202
#define FUTEX_WAKE_PRIVATE 129
#define NS 1000000000ull
#define MAX_NS (1ull << 62)           /* ns: the year 2116 */
#define EXTRAPOLATE_MAX (50 * 1000000ull)  /* a stalled host thread cannot push time further */
#define SPINS 1000

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

static struct scone_time_page *page;
static int use_tsc;
static uint64_t last[8];                  /* per clock: the highest value returned */

void __scone_clock_init(uint64_t host_page, uint64_t start_flags)
{
	struct scone_time_page *p = (void *)host_page;
	if (!host_page || host_page % SCONE_PAGE_SIZE || !__scone_host_range(host_page, sizeof *p) ||
	    __atomic_load_n(&p->magic, __ATOMIC_RELAXED) != SCONE_TIME_MAGIC)
		return;
	use_tsc = (start_flags & SCONE_START_RDTSC) != 0;
	page = p;
}

uint64_t __scone_clock_host(int clock)
{
	struct scone_ocall *o = __scone_host_ocall();
	if (!o)
		return 0;
	/* The host writes the timespec into this block's own args[2..3]. */
	long r = __scone_ocall(SYS_clock_gettime, clock, (long)&o->args[2], 0, 0, 0, 0);
	int64_t sec = ((volatile int64_t *)o->args)[2], nsec = ((volatile int64_t *)o->args)[3];
	if (r || sec < 0 || sec > (int64_t)(1ull << 40) || nsec < 0 || nsec >= (int64_t)NS)
		return 0;
	return (uint64_t)sec * NS + (uint64_t)nsec;
}

struct sample {
	uint64_t real, mono, boot, raw, tsc, mult;
	uint32_t flags;
};

/* One consistent copy of the page, checked; 0 if there is none. */
static int copy(struct sample *s)
{
	if (!page || __atomic_load_n(&page->parked, __ATOMIC_ACQUIRE))
		return 0;
	for (int i = 0; i < SPINS; i++) {
		uint32_t s1 = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {
			__asm__ __volatile__("pause");
			continue;
		}
		s->flags = __atomic_load_n(&page->flags, __ATOMIC_RELAXED);
		s->real = __atomic_load_n(&page->realtime, __ATOMIC_RELAXED);
		s->mono = __atomic_load_n(&page->monotonic, __ATOMIC_RELAXED);
		s->boot = __atomic_load_n(&page->boottime, __ATOMIC_RELAXED);
		s->raw = __atomic_load_n(&page->monotonic_raw, __ATOMIC_RELAXED);
		s->tsc = __atomic_load_n(&page->tsc, __ATOMIC_RELAXED);
		s->mult = __atomic_load_n(&page->tsc_mult, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&page->seq, __ATOMIC_RELAXED) != s1)
			continue;
		return s->real < MAX_NS && s->mono < MAX_NS && s->boot < MAX_NS && s->raw < MAX_NS &&
		       s->boot >= s->mono;
	}
	return 0;
}

/* Named for scone-check, which leaves the runtime's own sites out. */
__attribute__((noinline)) uint64_t __scone_rdtsc(void) SCONE_HIDDEN;
uint64_t __scone_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* ns since the sample, from the TSC; 0 where RDTSC may not run. */
static uint64_t since(const struct sample *s, int coarse)
{
	if (!use_tsc || coarse || !(s->flags & SCONE_TIME_TSC) ||
	    s->mult < (1ull << 32) / 10 || s->mult > (1ull << 32) * 10)
		return 0;
	uint64_t t = __scone_rdtsc();
	if (t <= s->tsc)
		return 0;
	unsigned __int128 d = (unsigned __int128)(t - s->tsc) * s->mult;
	uint64_t ns = (uint64_t)(d >> 32);
	return (d >> 32) > EXTRAPOLATE_MAX ? EXTRAPOLATE_MAX : ns;
}

/* Never below what any thread was given before: the atomic maximum. */
static uint64_t clamp(int clock, uint64_t ns)
{
	uint64_t seen = __atomic_load_n(&last[clock], __ATOMIC_ACQUIRE);
	while (ns > seen)
		if (__atomic_compare_exchange_n(&last[clock], &seen, ns, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return ns;
	return seen;
}

int __scone_clock_read(long clock, uint64_t *out)
{
	struct sample s;
	if ((unsigned long)clock > CLOCK_BOOTTIME || !copy(&s))
		return 0;
	switch (clock) {
	case CLOCK_REALTIME: *out = s.real + since(&s, 0); return 1;
	case CLOCK_REALTIME_COARSE: *out = s.real; return 1;
	case CLOCK_MONOTONIC: *out = clamp(clock, s.mono + since(&s, 0)); return 1;
	case CLOCK_MONOTONIC_COARSE: *out = clamp(clock, s.mono); return 1;
	case CLOCK_MONOTONIC_RAW: *out = clamp(clock, s.raw + since(&s, 0)); return 1;
	case CLOCK_BOOTTIME: *out = clamp(clock, s.boot + since(&s, 0)); return 1;
	}
	return 0;                               /* CPU-time clocks: the host's */
}

void __scone_clock_idle(int all)
{
	if (page)
		__atomic_store_n(&page->idle, (uint32_t)all, __ATOMIC_SEQ_CST);
}

/* After idle(0) (Dekker with the host's parked, then idle): a parked
 * sampling thread is woken. */
void __scone_clock_wake(void)
{
	if (page && __atomic_load_n(&page->parked, __ATOMIC_SEQ_CST))
		__scone_ocall(SYS_futex, (long)&page->idle, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

void __scone_clock_resync(void)
{
	uint64_t mono = __scone_clock_host(CLOCK_MONOTONIC);
	if (mono && page)
		clamp(CLOCK_MONOTONIC, mono);
}

static int monotonic(long clock)
{
	return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_MONOTONIC_COARSE ||
	       clock == CLOCK_BOOTTIME;
}

uint64_t __scone_clock_now(int clock)
{
	uint64_t ns;
	if (__scone_clock_read(clock, &ns))
		return ns;
	ns = __scone_clock_host(clock);
	return ns && monotonic(clock) ? clamp(clock, ns) : ns;
}

/* No usable sample: the host's answer, through the queue, and for a
 * monotonic clock never below what was returned before. */
static long external_clock_gettime(const long *a)
{
	long r = __scone_external(228, a);
	if (r || !a[1] || !monotonic(a[0]))
		return r;
	struct { long s, ns; } ts;
	__scone_memcpy(&ts, (const void *)a[1], sizeof ts);
	uint64_t ns = clamp((int)a[0], (uint64_t)ts.s * NS + (uint64_t)ts.ns);
	ts.s = (long)(ns / NS), ts.ns = (long)(ns % NS);
	__scone_memcpy((void *)a[1], &ts, sizeof ts);
	return 0;
}

/* clock_gettime, gettimeofday, time served here: 1 with *ret set, or 0 for
 * the external call (no usable page). clock_gettime of a clock the page
 * does not carry (CPU time) or with no usable sample is asked of the host
 * here, so that its answer is clamped too. */
int __scone_clock_call(long nr, const long *a, long *ret)
{
	uint64_t ns;
	switch (nr) {
	case 228:                               /* clock_gettime */
		if (!__scone_clock_read(a[0], &ns)) {
			*ret = external_clock_gettime(a);
			return 1;
		}
		if (a[1]) {
			struct { long s, ns; } ts = { (long)(ns / NS), (long)(ns % NS) };
			__scone_memcpy((void *)a[1], &ts, sizeof ts);
		}
		*ret = 0;
		return 1;
	case 96:                                /* gettimeofday */
		if (!__scone_clock_read(CLOCK_REALTIME, &ns))
			return 0;
		if (a[0]) {
			struct { long s, us; } tv = { (long)(ns / NS), (long)(ns % NS / 1000) };
			__scone_memcpy((void *)a[0], &tv, sizeof tv);
		}
		if (a[1]) {
			struct { int west, dst; } tz = { 0, 0 };
			__scone_memcpy((void *)a[1], &tz, sizeof tz);
		}
		*ret = 0;
		return 1;
	case 201:                               /* time */
		if (!__scone_clock_read(CLOCK_REALTIME, &ns))
			return 0;
		*ret = (long)(ns / NS);
		if (a[0])
			__scone_memcpy((void *)a[0], ret, sizeof *ret);
		return 1;
	}
	return 0;
}
