/* Soak (argv[1] seconds): rounds of ping-pong pairs over condition
 * variables and over pipes, sleepers and yielders, all joined and counted.
 * A wait that outlives its 10 s bound is a lost wake-up; a round that does
 * not finish within 60 s is a deadlock; either fails the run. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 16
#define PINGS 200

struct pair {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int turn, count;
	int pipe_ab[2], pipe_ba[2];
};

static struct pair pairs[PAIRS];
static long failures;
static sem_t finished;

static void fail(const char *what)
{
	__atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
	fprintf(stderr, "soak: %s\n", what);
}

static void deadline(struct timespec *ts, int s)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += s;
}

static void *cond_side(void *arg)
{
	long v = (long)arg;
	struct pair *p = &pairs[v / 2];
	int me = v % 2;
	for (int i = 0; i < PINGS; i++) {
		pthread_mutex_lock(&p->mu);
		while (p->turn != me) {
			struct timespec ts;
			deadline(&ts, 10);
			if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT) {
				fail("condition variable wait timed out (lost wake-up)");
				pthread_mutex_unlock(&p->mu);
				goto out;
			}
		}
		p->turn = !me;
		p->count++;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
out:
	sem_post(&finished);
	return 0;
}

static void *pipe_side(void *arg)
{
	long v = (long)arg;
	struct pair *p = &pairs[v / 2];
	int me = v % 2;
	char c = 'x';
	for (int i = 0; i < PINGS; i++) {
		if (me == 0) {
			if (write(p->pipe_ab[1], &c, 1) != 1 || read(p->pipe_ba[0], &c, 1) != 1) {
				fail("pipe ping failed");
				break;
			}
		} else {
			if (read(p->pipe_ab[0], &c, 1) != 1 || write(p->pipe_ba[1], &c, 1) != 1) {
				fail("pipe pong failed");
				break;
			}
		}
	}
	sem_post(&finished);
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		struct timespec d = { 0, 100000 * (i % 5 + 1) };
		nanosleep(&d, 0);
		sched_yield();
	}
	sem_post(&finished);
	return 0;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 20;
	time_t end = time(0) + seconds;
	sem_init(&finished, 0, 0);
	long rounds = 0;
	while (time(0) < end && !failures) {
		int n = 0;
		pthread_t t[4 * PAIRS + 8];
		for (int i = 0; i < PAIRS; i++) {
			pthread_mutex_init(&pairs[i].mu, 0);
			pthread_cond_init(&pairs[i].cv, 0);
			pairs[i].turn = pairs[i].count = 0;
			if (pipe(pairs[i].pipe_ab) || pipe(pairs[i].pipe_ba)) {
				fail("pipe");
				return 1;
			}
		}
		for (long i = 0; i < 2 * PAIRS; i++) {
			pthread_create(&t[n++], 0, cond_side, (void *)i);
			pthread_create(&t[n++], 0, pipe_side, (void *)i);
		}
		for (int i = 0; i < 8; i++)
			pthread_create(&t[n++], 0, sleeper, 0);
		for (int i = 0; i < n; i++) {
			struct timespec ts;
			deadline(&ts, 60);
			if (sem_timedwait(&finished, &ts)) {
				printf("deadlock: round %ld, %d of %d threads finished\n", rounds, i, n);
				fflush(stdout);
				_exit(1);
			}
		}
		for (int i = 0; i < n; i++)
			pthread_join(t[i], 0);
		for (int i = 0; i < PAIRS; i++) {
			if (pairs[i].count != 2 * PINGS)
				fail("a pair lost a ping");
			close(pairs[i].pipe_ab[0]); close(pairs[i].pipe_ab[1]);
			close(pairs[i].pipe_ba[0]); close(pairs[i].pipe_ba[1]);
		}
		rounds++;
	}
	printf("rounds %ld failures %ld\n", rounds, failures);
	if (failures || !rounds)
		return 1;
	printf("soak ok\n");
	return 0;
}
