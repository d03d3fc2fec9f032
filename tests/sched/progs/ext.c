/*
 * External calls park only their lthread: readers blocked in read() on
 * pipes (executed outside by the stand-in sthreads) do not stop other
 * lthreads, and each completes when its writer writes; then 200 lthreads
 * make 100 calls each: every call posted is completed and woken exactly
 * once (the harness counts both).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"

int test_main(int argc, char **argv);
#ifndef SCHED_NATIVE
/* The harness counts the calls its stand-in sthreads complete. */
extern atomic_long harness_ext_calls, harness_ext_wakes;
#endif

enum { READERS = 3, N = 200, CALLS = 100 };
static int pipes[READERS][2];
static atomic_long spins, completed;
static atomic_int stop;

static void *reader(void *arg)
{
	long i = (long)arg;
	char c = 0;
	CHECK(read(pipes[i][0], &c, 1) == 1 && c == 'a' + i, "reader %ld got %c", i, c);
	return 0;
}

static void *spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&spins, 1);
		sched_yield();
	}
	return 0;
}

static void *caller(void *arg)
{
	int fd = (int)(long)arg;
	char buf[8] = "abcdefg";
	for (int i = 0; i < CALLS; i++) {
		CHECK(write(fd, buf, 8) == 8, "write");
		atomic_fetch_add(&completed, 1);
	}
	return 0;
}

int test_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pthread_t r[READERS], s;
	for (long i = 0; i < READERS; i++) {
		CHECK(!pipe(pipes[i]), "pipe");
		pthread_create(&r[i], 0, reader, (void *)i);
	}
	pthread_create(&s, 0, spinner, 0);
	usleep(50000);
	long before = atomic_load(&spins);
	usleep(50000);
	CHECK(atomic_load(&spins) > before, "blocked readers stopped the other lthreads");
	for (long i = 0; i < READERS; i++) {
		char c = 'a' + i;
		CHECK(write(pipes[i][1], &c, 1) == 1, "write pipe");
	}
	for (long i = 0; i < READERS; i++)
		pthread_join(r[i], 0);
	atomic_store(&stop, 1);
	pthread_join(s, 0);

	int fd = open("/dev/null", O_WRONLY);
	CHECK(fd >= 0, "open /dev/null");
#ifndef SCHED_NATIVE
	long calls0 = atomic_load(&harness_ext_calls);
#endif
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], 0, caller, (void *)(long)fd);
	for (long i = 0; i < N; i++)
		pthread_join(t[i], 0);
	long calls = atomic_load(&completed);
	CHECK(calls == (long)N * CALLS, "completed calls %ld, want %d", calls, N * CALLS);
#ifndef SCHED_NATIVE
	calls = atomic_load(&harness_ext_calls) - calls0;
	CHECK(calls == (long)N * CALLS, "external calls %ld, want %d", calls, N * CALLS);
	CHECK(atomic_load(&harness_ext_calls) == atomic_load(&harness_ext_wakes), "posted %ld, woken %ld",
	      atomic_load(&harness_ext_calls), atomic_load(&harness_ext_wakes));
#endif
	printf("ok ext calls=%ld\n", calls);
	return 0;
}
