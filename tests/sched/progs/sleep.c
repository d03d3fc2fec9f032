/*
 * nanosleep and clock_nanosleep as timed parking: 100 threads sleeping
 * 100 ms at once finish in about 100 ms on two ethreads (were a sleep to
 * block its ethread, it would take 5 s); every sleep lasts at least what
 * was asked; absolute deadlines on both clocks; argument errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "check.h"

int test_main(int argc, char **argv);

enum { N = 100, MS = 100 };
static long long took[N];

static void *sleeper(void *arg)
{
	long i = (long)arg;
	struct timespec t = {0, MS * 1000000};
	long long t0 = mono_ns();
	CHECK(nanosleep(&t, 0) == 0, "nanosleep: %d", errno);
	took[i] = mono_ns() - t0;
	return 0;
}

static void absolute(clockid_t clk)
{
	struct timespec d;
	clock_gettime(clk, &d);
	d.tv_nsec += 20000000;
	if (d.tv_nsec >= 1000000000) {
		d.tv_sec++;
		d.tv_nsec -= 1000000000;
	}
	CHECK(clock_nanosleep(clk, TIMER_ABSTIME, &d, 0) == 0, "clock_nanosleep abs on %d", (int)clk);
	struct timespec n;
	clock_gettime(clk, &n);
	CHECK(n.tv_sec > d.tv_sec || (n.tv_sec == d.tv_sec && n.tv_nsec >= d.tv_nsec),
	      "woke before the absolute deadline on clock %d", (int)clk);
}

int test_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pthread_t t[N];
	long long t0 = mono_ns();
	for (long i = 0; i < N; i++)
		CHECK(!pthread_create(&t[i], 0, sleeper, (void *)i), "create");
	for (long i = 0; i < N; i++)
		pthread_join(t[i], 0);
	long long all = mono_ns() - t0;
	for (long i = 0; i < N; i++)
		CHECK(took[i] >= MS * 1000000ll, "sleep %ld lasted %lld ns", i, took[i]);
	CHECK(all < 20 * MS * 1000000ll, "%d parallel sleeps of %d ms took %lld ms", N, MS, all / 1000000);

	absolute(CLOCK_MONOTONIC);
	absolute(CLOCK_REALTIME);
	struct timespec rel = {0, 10000000};
	long long s0 = mono_ns();
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, 0) == 0 && mono_ns() - s0 >= 10000000, "relative");
	struct timespec past = {1, 0};
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, 0) == 0, "past deadline returns");
	struct timespec bad = {0, 1000000000};
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, 0) == EINVAL, "tv_nsec 1e9");
	struct timespec neg = {-1, 0};
	CHECK(nanosleep(&neg, 0) == -1 && errno == EINVAL, "negative tv_sec");
	CHECK(usleep(1000) == 0, "usleep");
	printf("ok sleep parallel=%lldms\n", all / 1000000);
	return 0;
}
