/*
 * Work stealing: the main lthread creates CPU-bound lthreads on ethread 0;
 * the other ethreads must steal and run them (scheduler statistics), and
 * the work done adds up.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "scone_sched.h"

int test_main(int argc, char **argv);

enum { N = 40, WORK = 200000 };
static atomic_long total;

static void *burn(void *arg)
{
	volatile long x = 0;
	for (long i = 0; i < WORK; i++) {
		x += i;
		if (i % 20000 == 0)
			sched_yield();
	}
	atomic_fetch_add(&total, 1);
	return arg;
}

int test_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const char *v = getenv("SCHED_ETHREADS");
	unsigned n = v ? (unsigned)atoi(v) : 2;
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], 0, burn, 0);
	for (long i = 0; i < N; i++)
		pthread_join(t[i], 0);
	CHECK(total == N, "finished %ld of %d", (long)total, N);
	unsigned long steals = 0, ran_elsewhere = 0;
	for (unsigned e = 0; e < n; e++) {
		struct scone_sched_stats st;
		__scone_sched_stats(e, &st);
		steals += st.steals;
		if (e)
			ran_elsewhere += st.switches;
		printf("ethread %u: switches %lu steals %lu idle sleeps %lu kicks %lu\n", e,
		       (unsigned long)st.switches, (unsigned long)st.steals, (unsigned long)st.idle_sleeps,
		       (unsigned long)st.kicks);
	}
	CHECK(n < 2 || (steals > 0 && ran_elsewhere > 0), "no stealing: steals %lu", steals);
	printf("ok steal steals=%lu\n", steals);
	return 0;
}
