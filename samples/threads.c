/* pthreads inside the enclave: workers share a mutex-protected counter. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define ROUNDS 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		int err = pthread_create(&t[i], NULL, worker, NULL);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	printf("counter=%ld (expected %d)\n", counter, NTHREADS * ROUNDS);
	return counter == NTHREADS * ROUNDS ? 0 : 1;
}
