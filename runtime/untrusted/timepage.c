/*
 * The host half of the enclave's clock (DESIGN.md §5 "Time"). One thread
 * samples the kernel's clocks (the vDSO: no system call) every tick and
 * publishes them in the time page under a sequence counter, together with
 * the TSC at the sample and the TSC's rate measured over the whole run, so
 * that an enclave allowed to run RDTSC can extrapolate between ticks. The
 * enclave trusts none of it (runtime/trusted/clock.c).
 *
 * The tick bounds how stale an SGX1 enclave's time can be: 1 ms by default
 * (SCONE_TIME_TICK, in microseconds, 50 to 100000), about a thousand
 * wake-ups a second while the enclave runs. When every ethread has slept
 * outside for PARK_NS (the enclave's idle word), the thread parks: it sets
 * parked, looks at idle once more, and waits on it; the enclave reads the
 * host's clock while parked and wakes the thread when an ethread wakes. An
 * idle server then costs no ticks.
 *
 * The hostile starter (tests only, SCONE_HOSTILE=time) lies: every other
 * sample puts the monotonic clocks a second back, every fourth is out of
 * range, the TSC rate is a thousand times too high, and parked is set
 * every third sample whatever the thread does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <unistd.h>
#include <time.h>
#ifdef SCONE_HOSTILE
#include <string.h>
#endif
#include <x86intrin.h>

#include "timepage.h"

#define NS 1000000000ull
#define CALIBRATED (20 * 1000000ull)   /* ns of span before the rate is published */
#define PARK_NS (20 * 1000000ull)      /* idle this long before the thread parks */

static struct scone_time_page *page;
static uint64_t tick_ns;
static uint64_t tsc0, mono0;

static uint64_t ns_of(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

static void sample(void)
{
	/* The TSC between two reads of the monotonic clock: the middle is
	 * its best estimate of the same instant. */
	uint64_t m1 = ns_of(CLOCK_MONOTONIC);
	uint64_t tsc = __rdtsc();
	uint64_t m2 = ns_of(CLOCK_MONOTONIC);
	uint64_t real = ns_of(CLOCK_REALTIME), boot = ns_of(CLOCK_BOOTTIME), raw = ns_of(CLOCK_MONOTONIC_RAW);
	uint64_t mono = m1 + (m2 - m1) / 2;
	uint32_t flags = 0;
	uint64_t mult = 0;
	if (!tsc0) {
		tsc0 = tsc;
		mono0 = mono;
	} else if (mono - mono0 >= CALIBRATED && tsc > tsc0) {
		mult = (uint64_t)(((unsigned __int128)(mono - mono0) << 32) / (tsc - tsc0));
		flags = SCONE_TIME_TSC;
	}
#ifdef SCONE_HOSTILE
	static int hostile = -1, n;
	if (hostile < 0)
		hostile = getenv("SCONE_HOSTILE") && !strcmp(getenv("SCONE_HOSTILE"), "time");
	if (hostile && ++n % 2) {
		mono -= NS, boot -= NS, raw -= NS;
		mult *= 1000;
		if (n % 4 == 1)
			real = ~0ull >> 1;
	}
	if (hostile)         /* parked without parking, or not when it did */
		__atomic_store_n(&page->parked, n % 3 == 0, __ATOMIC_SEQ_CST);
#endif
	uint32_t seq = __atomic_load_n(&page->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&page->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&page->flags, flags, __ATOMIC_RELAXED);
	__atomic_store_n(&page->realtime, real, __ATOMIC_RELAXED);
	__atomic_store_n(&page->monotonic, mono, __ATOMIC_RELAXED);
	__atomic_store_n(&page->boottime, boot, __ATOMIC_RELAXED);
	__atomic_store_n(&page->monotonic_raw, raw, __ATOMIC_RELAXED);
	__atomic_store_n(&page->tsc, tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&page->tsc_mult, mult, __ATOMIC_RELAXED);
	__atomic_store_n(&page->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Every ethread asleep for PARK_NS: park until one wakes (Dekker with the
 * enclave's idle store, then its read of parked). 1 if it parked. */
static int park(uint64_t *idle_ns)
{
	if (!__atomic_load_n(&page->idle, __ATOMIC_SEQ_CST)) {
		*idle_ns = 0;
		return 0;
	}
	if ((*idle_ns += tick_ns) < PARK_NS)
		return 0;
	__atomic_store_n(&page->parked, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&page->idle, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &page->idle, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
	sample();
	__atomic_store_n(&page->parked, 0, __ATOMIC_SEQ_CST);
	*idle_ns = 0;
	return 1;
}

static void *ticker(void *arg)
{
	(void)arg;
	/* Wake on time: the default 50 us slack is 5% of a tick. */
	prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
	prctl(PR_SET_NAME, "scone-time", 0, 0, 0);
	struct timespec next;
	uint64_t idle_ns = 0;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		next.tv_nsec += (long)tick_ns;
		while (next.tv_nsec >= (long)NS) {
			next.tv_nsec -= (long)NS;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		sample();
		/* Fell behind (a loaded host) or parked: start again from now. */
		int parked = park(&idle_ns);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (parked || now.tv_sec > next.tv_sec + 1)
			next = now;
	}
	return NULL;
}

struct scone_time_page *scone_time_start(char *err, size_t errlen)
{
	const char *v = getenv("SCONE_TIME_TICK");
	unsigned long us = 1000;
	if (v && *v) {
		char *end;
		us = strtoul(v, &end, 10);
		if (*end || *v == '-' || us < 50 || us > 100000) {
			snprintf(err, errlen, "SCONE_TIME_TICK=%s: expected microseconds between 50 and 100000", v);
			return NULL;
		}
	}
	tick_ns = us * 1000;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the time page: %s", strerror(errno));
		return NULL;
	}
	page->magic = SCONE_TIME_MAGIC;
	page->tick_ns = tick_ns;
	sample();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int rc = pthread_create(&t, &attr, ticker, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		snprintf(err, errlen, "cannot start the time thread: %s", strerror(rc));
		return NULL;
	}
	return page;
}
