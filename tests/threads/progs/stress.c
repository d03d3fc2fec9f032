/* 200 pthreads stress musl's mutexes, condition variables, barriers,
 * rwlocks and semaphores; every result is checked against arithmetic. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define N 200
#define ROUNDS 200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static sem_t sem, items;
static long counter, queue_len, consumed, rw_value, rw_bad, phase_bad;
static int phase;

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	/* Barrier phases: nobody sees a phase before everyone finished the last. */
	for (int p = 0; p < 5; p++) {
		if (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) != p)
			__atomic_add_fetch(&phase_bad, 1, __ATOMIC_SEQ_CST);
		if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
			__atomic_store_n(&phase, p + 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&bar);
	}
	/* rwlock: writers keep rw_value even; readers must never see it odd. */
	for (int i = 0; i < ROUNDS / 4; i++) {
		if ((id + i) % 8 == 0) {
			pthread_rwlock_wrlock(&rw);
			rw_value++;
			sched_yield();
			rw_value++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			if (rw_value & 1)
				rw_bad++;
			pthread_rwlock_unlock(&rw);
		}
	}
	/* Semaphore: at most 3 inside at once. */
	static int inside, max_inside;
	for (int i = 0; i < 10; i++) {
		sem_wait(&sem);
		int n = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&mu);
		if (n > max_inside)
			max_inside = n;
		pthread_mutex_unlock(&mu);
		sched_yield();
		__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		sem_post(&sem);
	}
	if (max_inside > 3)
		__atomic_add_fetch(&rw_bad, 1000, __ATOMIC_SEQ_CST);
	/* Condition variable: half produce, half consume. */
	if (id % 2 == 0) {
		for (int i = 0; i < ROUNDS; i++) {
			pthread_mutex_lock(&mu);
			queue_len++;
			pthread_cond_signal(&cv);
			pthread_mutex_unlock(&mu);
		}
	} else {
		for (int i = 0; i < ROUNDS; i++) {
			pthread_mutex_lock(&mu);
			while (!queue_len)
				pthread_cond_wait(&cv, &mu);
			queue_len--;
			consumed++;
			pthread_mutex_unlock(&mu);
		}
	}
	sem_post(&items);
	return (void *)(id * 3);
}

int main(void)
{
	pthread_t t[N];
	pthread_barrier_init(&bar, NULL, N);
	sem_init(&sem, 0, 3);
	sem_init(&items, 0, 0);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], &a, worker, (void *)i)) {
			printf("pthread_create %ld failed\n", i);
			return 1;
		}
	for (int i = 0; i < N; i++)
		sem_wait(&items);
	long sum = 0;
	for (int i = 0; i < N; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("counter %ld\nconsumed %ld left %ld\nrw %ld bad %ld\nphase %d bad %ld\njoin sum %ld\n",
	       counter, consumed, queue_len, rw_value, rw_bad, phase, phase_bad, sum);
	return 0;
}
