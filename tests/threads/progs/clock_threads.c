/* CLOCK_MONOTONIC never goes back, across threads: each read is compared,
 * under one lock, with the last read of any thread; each thread also
 * checks its own reads without the lock. Then sleeps: never shorter than
 * asked, on the program's own clock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long long last, back_shared, back_own[THREADS];
static long reads;

static long long mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *run(void *arg)
{
	long id = (long)arg;
	long long mine = 0;
	for (long i = 0; i < reads; i++) {
		long long t = mono();
		if (t < mine)
			back_own[id]++;
		mine = t;
		if (i % 8 == 0) {
			pthread_mutex_lock(&lock);
			long long u = mono();
			if (u < last)
				back_shared++;
			last = u;
			pthread_mutex_unlock(&lock);
		}
		if (i % 1000 == 0)
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	reads = argc > 1 ? atol(argv[1]) : 200000;
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, run, (void *)i);
	long long own = 0;
	for (long i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		own += back_own[i];
	}
	printf("backwards: shared %lld, own %lld\n", back_shared, own);
	int early = 0;
	for (int i = 0; i < 20; i++) {
		struct timespec d = { 0, 3000000 + i * 100000 };
		long long a = mono();
		nanosleep(&d, NULL);
		if (mono() - a < d.tv_nsec)
			early++;
	}
	printf("sleeps shorter than asked: %d\n", early);
	return 0;
}
