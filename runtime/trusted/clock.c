/*
 * The scheduler's clock (scone_sched.h ops.now): it is read on every 16th
 * switch while timers are pending, so it must not exit each time. The TSC
 * runs inside the enclave; the host's clock, asked through an OCALL at most
 * every RESYNC cycles, anchors it and calibrates its rate over the whole
 * run. Both host values are untrusted: they only time timeouts, and the
 * result never goes backwards.
 */
#include "internal.h"

#define SYS_clock_gettime 228
#define NS 1000000000ull
/* Before the rate is known, assume a 5 GHz TSC: time then runs slow, so a
 * timeout can only fire late (by at most one resync), never early. */
#define RATE_GUESS ((1ull << 32) / 5)
#define RESYNC_FIRST 2000000ull
#define RESYNC 30000000ull
#define LONG_SPAN 3000000000ull        /* about a second of TSC */

static struct {
	int lock;
	int synced;
	uint64_t tsc_first, ns_first;  /* the first sync: the span calibrates */
	uint64_t tsc0, ns0;            /* the latest sync */
	uint64_t rate;                 /* ns per cycle, 32.32 fixed point */
	uint64_t resync;
	int64_t rt_off;                /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t last;                 /* monotonic clamp */
} c;

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

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void sync_now(uint64_t t, uint64_t extrapolated)
{
	uint64_t mono = __scone_clock_host(1), real = __scone_clock_host(0);
	if (!mono)
		return;
	if (!c.synced) {
		c.tsc_first = t;
		c.ns_first = mono;
		c.rate = RATE_GUESS;
		c.resync = RESYNC_FIRST;
		c.synced = 1;
	} else if (mono > c.ns_first && t - c.tsc_first > RESYNC_FIRST) {
		uint64_t dt = t - c.tsc_first, dns = mono - c.ns_first;
		/* 32.32 without overflow for spans up to ~4.9 days; slow on
		 * purpose, so that the extrapolation stays behind the host: by
		 * 1/16 while the span is short and the OCALLs' own latency (tens
		 * of microseconds on a loaded host) still skews it, by 1/1024 once
		 * it is long. A timeout may then fire late, never early. */
		if (dns < (1ull << 48)) {
			uint64_t rate = (dns << 16) / (dt >> 16 ? dt >> 16 : 1);
			rate -= dt < LONG_SPAN ? rate >> 4 : rate >> 10;
			if (rate >= (1ull << 32) / 10 && rate <= (1ull << 32) * 10) {
				c.rate = rate;
				c.resync = RESYNC;
			}
		}
	}
	c.tsc0 = t;
	c.ns0 = mono > extrapolated ? mono : extrapolated;
	if (real)
		c.rt_off = (int64_t)(real - mono);
}

uint64_t __scone_clock_now(int clock)
{
	while (__atomic_exchange_n(&c.lock, 1, __ATOMIC_ACQUIRE))
		__asm__ __volatile__("pause");
	uint64_t t = rdtsc();
	uint64_t ns;
	if (c.synced && t >= c.tsc0 && t - c.tsc0 < c.resync) {
		ns = c.ns0 + (((t - c.tsc0) * (c.rate >> 16)) >> 16);
	} else {
		sync_now(t, c.last);
		ns = c.ns0;
	}
	if (ns < c.last)
		ns = c.last;
	c.last = ns;
	int64_t off = c.rt_off;
	__atomic_store_n(&c.lock, 0, __ATOMIC_RELEASE);
	return clock == 0 ? ns + (uint64_t)off : ns;
}
