/*
 * 200 pthreads (musl's own, unchanged) on a few ethreads: mutexes (normal,
 * recursive, error-checking), a condition-variable queue, barriers,
 * rwlocks, semaphores, once, __thread, thread-specific data, join and
 * detach. Every expected value is arithmetic on the parameters.
 * Usage: stress [threads] [rounds]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

int test_main(int argc, char **argv);

static int nthreads = 200, rounds = 20;

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rmtx, emtx;
static long mcount, rcount;

static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qne = PTHREAD_COND_INITIALIZER, qnf = PTHREAD_COND_INITIALIZER;
#define QCAP 8
static long q[QCAP];
static int qh, qn;
static long consumed_sum, consumed_n;

static pthread_barrier_t bar;
static atomic_long round_sum[64];
static atomic_int serial_count;

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static atomic_int rw_bad;

static sem_t sem;
static atomic_int inside, inside_max;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs;

static __thread long tls_id;
static pthread_key_t key;
static atomic_int dtor_runs;
static atomic_int tids_seen;
static long tids[1024];

static atomic_int detached_done;

static void once_init(void)
{
	atomic_fetch_add(&once_runs, 1);
	usleep(1000);                      /* others must wait, not run it */
}

static void dtor(void *p)
{
	CHECK(p == (void *)(tls_id + 1), "TSD value %p for thread %ld", p, tls_id);
	atomic_fetch_add(&dtor_runs, 1);
}

static void put(long v)
{
	pthread_mutex_lock(&qm);
	while (qn == QCAP)
		pthread_cond_wait(&qnf, &qm);
	q[(qh + qn++) % QCAP] = v;
	pthread_cond_signal(&qne);
	pthread_mutex_unlock(&qm);
}

static long get(void)
{
	pthread_mutex_lock(&qm);
	while (!qn)
		pthread_cond_wait(&qne, &qm);
	long v = q[qh];
	qh = (qh + 1) % QCAP;
	qn--;
	pthread_cond_signal(&qnf);
	pthread_mutex_unlock(&qm);
	return v;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static atomic_int task_count;

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_id = id;
	pthread_setspecific(key, (void *)(id + 1));
	tids[id] = gettid();
	atomic_fetch_add(&tids_seen, 1);
	pthread_once(&once, once_init);

	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 20; i++) {
			pthread_mutex_lock(&mtx);
			mcount++;
			pthread_mutex_unlock(&mtx);
		}
		pthread_mutex_lock(&rmtx);
		pthread_mutex_lock(&rmtx);
		rcount++;
		pthread_mutex_unlock(&rmtx);
		pthread_mutex_unlock(&rmtx);
		pthread_mutex_lock(&emtx);
		CHECK(pthread_mutex_lock(&emtx) == EDEADLK, "error-checking mutex relocked");
		pthread_mutex_unlock(&emtx);

		/* Half produce, half consume: values id*1000+r. */
		if (id % 2 == 0)
			put(id * 1000 + r);
		else {
			long v = get();
			pthread_mutex_lock(&qm);
			consumed_sum += v;
			consumed_n++;
			pthread_mutex_unlock(&qm);
		}

		if (id % 10 == 0) {
			pthread_rwlock_wrlock(&rw);
			rw_a++;
			sched_yield();             /* readers must not see a != b */
			rw_b++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			if (rw_a != rw_b)
				atomic_fetch_add(&rw_bad, 1);
			pthread_rwlock_unlock(&rw);
		}

		sem_wait(&sem);
		int now = atomic_fetch_add(&inside, 1) + 1;
		int m = atomic_load(&inside_max);
		while (now > m && !atomic_compare_exchange_weak(&inside_max, &m, now))
			;
		sched_yield();
		atomic_fetch_sub(&inside, 1);
		sem_post(&sem);

		atomic_fetch_add(&round_sum[r], id);
		int s = pthread_barrier_wait(&bar);
		CHECK(s == 0 || s == PTHREAD_BARRIER_SERIAL_THREAD, "barrier returned %d", s);
		if (s == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&serial_count, 1);
		long want = (long)nthreads * (nthreads - 1) / 2;
		CHECK(atomic_load(&round_sum[r]) == want, "round %d sum %ld, want %ld", r,
		      atomic_load(&round_sum[r]), want);
		if (r == 0 && id == 0)
			atomic_store(&task_count, count_tasks());
		CHECK(tls_id == id, "__thread value %ld in thread %ld", tls_id, id);
		CHECK(pthread_getspecific(key) == (void *)(id + 1), "TSD lost in thread %ld", id);
	}
	return (void *)(id * 3);
}

static void *detached(void *arg)
{
	(void)arg;
	usleep(100);
	atomic_fetch_add(&detached_done, 1);
	return 0;
}

int test_main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		rounds = atoi(argv[2]);
	CHECK(nthreads % 2 == 0 && nthreads <= 1024 && rounds <= 64, "usage: stress [even threads <= 1024] [rounds <= 64]");
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rmtx, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&emtx, &a);
	pthread_barrier_init(&bar, 0, nthreads);
	sem_init(&sem, 0, 3);
	pthread_key_create(&key, dtor);

	pthread_t *t = calloc(nthreads, sizeof *t);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (long i = 0; i < nthreads; i++)
		CHECK(!pthread_create(&t[i], &at, worker, (void *)i), "pthread_create %ld", i);
	for (long i = 0; i < nthreads; i++) {
		void *r;
		CHECK(!pthread_join(t[i], &r), "join %ld", i);
		CHECK(r == (void *)(i * 3), "thread %ld returned %p", i, r);
	}

	enum { NDET = 100 };
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < NDET; i++) {
		pthread_t d;
		CHECK(!pthread_create(&d, &at, detached, 0), "detached create %d", i);
	}
	for (int i = 0; i < 5000 && atomic_load(&detached_done) < NDET; i++)
		usleep(1000);

	long n = nthreads, R = rounds, half = n / 2;
	CHECK(mcount == n * R * 20, "mutex count %ld, want %ld", mcount, n * R * 20);
	CHECK(rcount == n * R, "recursive count %ld", rcount);
	/* producers are the even ids 0,2,..,n-2, each r = 0..R-1 */
	long want_sum = 1000 * R * (half * (half - 1)) + half * R * (R - 1) / 2;
	CHECK(consumed_n == half * R && consumed_sum == want_sum, "queue %ld items sum %ld, want %ld sum %ld",
	      consumed_n, consumed_sum, half * R, want_sum);
	CHECK(serial_count == R, "serial threads %d, want %ld", serial_count, R);
	CHECK(rw_bad == 0 && rw_a == rw_b && rw_a == (n / 10) * R, "rwlock a=%ld b=%ld bad=%d", rw_a, rw_b, rw_bad);
	CHECK(inside_max >= 1 && inside_max <= 3, "semaphore let %d in", inside_max);
	CHECK(once_runs == 1, "once ran %d times", once_runs);
	CHECK(dtor_runs == n, "TSD destructors %d, want %ld", dtor_runs, n);
	CHECK(tids_seen == n, "tids %d", tids_seen);
	for (long i = 0; i < n; i++) {
		CHECK(tids[i] > 0 && tids[i] != getpid(), "tid %ld of thread %ld", tids[i], i);
		for (long j = 0; j < i; j++)
			CHECK(tids[i] != tids[j], "threads %ld and %ld share tid %ld", i, j, tids[i]);
	}
	CHECK(detached_done == NDET, "detached threads finished: %d of %d", detached_done, NDET);
	printf("ok stress threads=%ld rounds=%ld tasks=%d semmax=%d\n", n, R, task_count, inside_max);
	return 0;
}
