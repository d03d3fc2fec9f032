/*
 * Soak: for the given seconds, 64 threads mix mutexes, a condition-variable
 * hand-off, semaphores, rwlocks, short timed waits, sleeps, yields,
 * external calls, and thread churn (create/join, detach). A watchdog OS
 * thread (outside the scheduler: raw syscalls only) fails the run if the
 * progress counter stalls for 10 s: a deadlock or a lost wake-up.
 * Every thread's own counts must add up to the shared ones at the end.
 * Usage: soak [seconds]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"

int test_main(int argc, char **argv);
#ifndef SCHED_NATIVE
#include "raw.h"
#endif

enum { N = 64 };
static atomic_long progress;
static atomic_int stop;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long shared_count, token_count;
static int token = -1;
static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static long mine[N], handed[N];
static atomic_long churned, detached_ran;
static int devnull;

static void *tiny(void *arg)
{
	atomic_fetch_add(&detached_ran, 1);
	return arg;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 2654435761u + 1;
	while (!atomic_load(&stop)) {
		seed = seed * 1103515245 + 12345;
		switch ((seed >> 16) % 9) {
		case 0:
			pthread_mutex_lock(&m);
			shared_count++;
			mine[id]++;
			pthread_mutex_unlock(&m);
			break;
		case 1: {
			/* Hand a token to the next thread id, with a timed wait so
			 * that a thread whose successor left cannot hang. */
			struct timespec dl;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += 2000000;
			if (dl.tv_nsec >= 1000000000) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&m);
			if (token == -1 || token == id) {
				token = (int)((id + 1) % N);
				token_count++;
				handed[id]++;
				pthread_cond_broadcast(&cv);
			} else {
				int r = pthread_cond_timedwait(&cv, &m, &dl);
				CHECK(r == 0 || r == ETIMEDOUT, "cond_timedwait %d", r);
				if (r == ETIMEDOUT)
					token = -1;
			}
			pthread_mutex_unlock(&m);
			break;
		}
		case 2:
			sem_wait(&sem);
			sched_yield();
			sem_post(&sem);
			break;
		case 3:
			if (id % 8 == 0) {
				pthread_rwlock_wrlock(&rw);
				rw_a++;
				rw_b++;
				pthread_rwlock_unlock(&rw);
			} else {
				pthread_rwlock_rdlock(&rw);
				CHECK(rw_a == rw_b, "rwlock torn");
				pthread_rwlock_unlock(&rw);
			}
			break;
		case 4:
			usleep(100 + (seed % 500));
			break;
		case 5:
			CHECK(write(devnull, "x", 1) == 1, "write");
			break;
		case 6: {
			pthread_t t;
			if (!pthread_create(&t, 0, tiny, (void *)id)) {
				void *r;
				pthread_join(t, &r);
				CHECK(r == (void *)id, "joined value");
				atomic_fetch_add(&churned, 1);
			}
			break;
		}
		case 7: {
			pthread_attr_t a;
			pthread_t t;
			pthread_attr_init(&a);
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			pthread_create(&t, &a, tiny, 0);
			pthread_attr_destroy(&a);
			break;
		}
		default:
			sched_yield();
		}
		atomic_fetch_add(&progress, 1);
	}
	return 0;
}

#ifndef SCHED_NATIVE
static void watchdog(void *arg)
{
	(void)arg;
	long last = -1;
	int stalled = 0;
	for (;;) {
		struct { long s, ns; } t = {1, 0};
		raw2(35, &t, 0);
		long p = atomic_load(&progress);
		if (atomic_load(&stop))
			stalled = 0;
		else if (p == last && ++stalled >= 10) {
			static const char msg[] = "FAIL soak: no progress for 10 s (deadlock or lost wake-up)\n";
			raw3(1, 2, msg, sizeof msg - 1);
			raw1(NR_exit_group, 3);
		} else if (p != last)
			stalled = 0;
		last = p;
	}
}
#endif

int test_main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 3;
	devnull = open("/dev/null", O_WRONLY);
	sem_init(&sem, 0, 4);
#ifndef SCHED_NATIVE
	static char wstack[64 << 10];
	harness_spawn(wstack + sizeof wstack, watchdog, 0);
#endif
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		CHECK(!pthread_create(&t[i], 0, worker, (void *)i), "create %ld", i);
	sleep(secs);
	atomic_store(&stop, 1);
	for (long i = 0; i < N; i++)
		pthread_join(t[i], 0);
	long sum = 0, hsum = 0;
	for (int i = 0; i < N; i++) {
		sum += mine[i];
		hsum += handed[i];
	}
	CHECK(sum == shared_count && hsum == token_count, "counts: %ld/%ld %ld/%ld", sum, shared_count, hsum,
	      token_count);
	printf("ok soak seconds=%d ops=%ld mutex=%ld handoffs=%ld churn=%ld\n", secs, (long)progress,
	       shared_count, token_count, (long)churned);
	return 0;
}
