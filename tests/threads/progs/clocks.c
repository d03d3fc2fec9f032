/* Every clock the enclave serves inside, against each other and against
 * gettimeofday and time: the same lines natively and in the enclave. With
 * an argument: a loop of reads, for strace to count the system calls. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long ns(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t))
		return -1;
	if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000)
		return -2;
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long dist(long long a, long long b)
{
	return a > b ? a - b : b - a;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		long long sink = 0;
		for (long i = atol(argv[1]); i > 0; i--)
			sink += ns(CLOCK_MONOTONIC);
		printf("%d\n", sink != 1);
		return 0;
	}
	static const struct { clockid_t id; const char *name; } clocks[] = {
		{ CLOCK_REALTIME, "REALTIME" }, { CLOCK_MONOTONIC, "MONOTONIC" },
		{ CLOCK_BOOTTIME, "BOOTTIME" }, { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
		{ CLOCK_REALTIME_COARSE, "REALTIME_COARSE" }, { CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
	};
	for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
		long long a = ns(clocks[i].id), b = ns(clocks[i].id);
		printf("%s: %s, %s\n", clocks[i].name, a > 0 ? "read" : "failed",
		       b >= a || clocks[i].id == CLOCK_REALTIME || clocks[i].id == CLOCK_REALTIME_COARSE
		       ? "in order" : "went back");
	}
	long long mono = ns(CLOCK_MONOTONIC), boot = ns(CLOCK_BOOTTIME), raw = ns(CLOCK_MONOTONIC_RAW);
	long long real = ns(CLOCK_REALTIME), real_c = ns(CLOCK_REALTIME_COARSE), mono_c = ns(CLOCK_MONOTONIC_COARSE);
	/* The kernel's coarse clocks lag by at most a tick (4 ms at HZ=250). */
	printf("boottime >= monotonic: %d\n", boot >= mono);
	printf("raw within 1 s of monotonic: %d\n", dist(raw, mono) < 1000000000LL);
	printf("coarse within 50 ms: %d %d\n", dist(real_c, real) < 50000000LL, dist(mono_c, mono) < 50000000LL);
	struct timeval tv;
	printf("gettimeofday: %d, within 50 ms of REALTIME: %d\n", gettimeofday(&tv, NULL),
	       dist(tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL, ns(CLOCK_REALTIME)) < 50000000LL);
	time_t t0;
	time_t t1 = time(&t0);
	printf("time: agrees %d, within 1 s of REALTIME: %d\n", t0 == t1,
	       dist(t1 * 1000000000LL, ns(CLOCK_REALTIME)) < 1000000000LL);
	struct timespec cpu;
	printf("PROCESS_CPUTIME: %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu));
	printf("bad clock: %d\n", clock_gettime((clockid_t)12345, &cpu));
	return 0;
}
