/* pthread semantics whose output must match native musl line for line:
 * join values, detached threads, deferred cancellation, __thread, thread-
 * specific data with destructors, pthread_once, and timed waits. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __thread int tls_counter = 7;
static __thread char tls_name[16];
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs, dtor_runs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int detached_done;

static void init_once(void) { once_runs++; }
static void dtor(void *p) { __atomic_add_fetch(&dtor_runs, 1, __ATOMIC_SEQ_CST); (void)p; }

static void *tls_worker(void *arg)
{
	long id = (long)arg;
	pthread_once(&once, init_once);
	snprintf(tls_name, sizeof tls_name, "w%ld", id);
	for (int i = 0; i < 1000; i++) {
		tls_counter++;
		if (i % 100 == 0)
			sched_yield();
	}
	pthread_setspecific(key, (void *)(id + 1));
	sched_yield();
	long got = (long)pthread_getspecific(key);
	char expect[16];
	snprintf(expect, sizeof expect, "w%ld", id);
	return (void *)(long)(tls_counter == 1007 && got == id + 1 && !strcmp(tls_name, expect));
}

static void *detached(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	detached_done++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

static int cleanup_ran;
static void cleanup(void *p) { (void)p; cleanup_ran++; }

static void *cancel_loop(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, 0);
	for (;;) {
		pthread_testcancel();
		sched_yield();
	}
	pthread_cleanup_pop(0);
	return 0;
}

static void *cancel_in_cond_wait(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, 0);
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cv, &mu);   /* nobody signals it */
	pthread_cleanup_pop(0);
	return 0;
}

static void cleanup_unlock(void *p) { pthread_mutex_unlock(p); }

static void *cancel_in_sleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup_unlock, &mu);
	pthread_mutex_lock(&mu);
	pthread_cleanup_pop(1);
	sleep(100);
	return 0;
}

static void *cancel_disabled(void *arg)
{
	int *go = arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, 0);
	while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
		sched_yield();
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, 0);
	pthread_testcancel();
	return (void *)42;
}

int main(void)
{
	pthread_key_create(&key, dtor);
	pthread_t t[16];
	for (long i = 0; i < 16; i++)
		pthread_create(&t[i], 0, tls_worker, (void *)i);
	int ok = 0;
	for (int i = 0; i < 16; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (long)r;
	}
	printf("tls+tsd ok %d/16, main tls %d, once %d, dtors %d\n", ok, tls_counter, once_runs, dtor_runs);

	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 20; i++) {
		pthread_t d;
		pthread_create(&d, &a, detached, 0);
	}
	pthread_mutex_lock(&mu);
	while (detached_done < 20)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("detached %d\n", detached_done);

	pthread_t c;
	void *r;
	pthread_create(&c, 0, cancel_loop, 0);
	usleep(10000);
	pthread_cancel(c);
	pthread_join(c, &r);
	printf("cancel: %s, cleanup %d\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled", cleanup_ran);

	/* The cleanup handler runs with the mutex held, as POSIX says. */
	pthread_create(&c, 0, cancel_in_cond_wait, 0);
	usleep(10000);
	pthread_cancel(c);
	pthread_join(c, &r);
	pthread_mutex_unlock(&mu);
	printf("cancel in cond_wait: %s, cleanup %d\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled", cleanup_ran);

	pthread_create(&c, 0, cancel_in_sleep, 0);
	usleep(10000);
	pthread_cancel(c);
	pthread_join(c, &r);
	printf("cancel in sleep: %s\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled");

	int go = 0;
	pthread_create(&c, 0, cancel_disabled, &go);
	pthread_cancel(c);
	usleep(1000);
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	pthread_join(c, &r);
	printf("cancel after enable: %s\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled");

	struct timespec ts, t0, t1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000000;
	if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&mu);
	int e = pthread_cond_timedwait(&cv, &mu, &ts);
	pthread_mutex_unlock(&mu);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("timedwait %s, waited >= 45 ms: %s\n", e == ETIMEDOUT ? "ETIMEDOUT" : strerror(e), ms >= 45 ? "yes" : "no");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct timespec d = { 0, 20 * 1000000 };
	nanosleep(&d, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ns = (t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
	printf("nanosleep 20 ms: at least: %s\n", ns >= 20 * 1000000 ? "yes" : "no");
	pthread_key_delete(key);
	return 0;
}
