/* Robust and priority-inheritance mutexes: every result printed, for
 * comparison with the same program built natively. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t m;
static int counter;

static const char *e(int r)
{
	static char buf[8][32];
	static int k;
	char *b = buf[k++ & 7];
	if (!r)
		return "0";
	snprintf(b, 32, "%s", r == EOWNERDEAD ? "EOWNERDEAD" : r == EDEADLK ? "EDEADLK" :
		 r == EPERM ? "EPERM" : r == EBUSY ? "EBUSY" : r == ENOTRECOVERABLE ?
		 "ENOTRECOVERABLE" : r == ETIMEDOUT ? "ETIMEDOUT" : r == ENOSYS ? "ENOSYS" : "other");
	if (!strcmp(b, "other"))
		snprintf(b, 32, "errno %d", r);
	return b;
}

static void init(int robust, int pi, int type)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	int r1 = pthread_mutexattr_setrobust(&a, robust ? PTHREAD_MUTEX_ROBUST : PTHREAD_MUTEX_STALLED);
	int r2 = pthread_mutexattr_setprotocol(&a, pi ? PTHREAD_PRIO_INHERIT : PTHREAD_PRIO_NONE);
	int r3 = pthread_mutex_init(&m, &a);
	printf("init robust=%d pi=%d type=%d: setrobust %s setprotocol %s init %s\n",
	       robust, pi, type, e(r1), e(r2), e(r3));
	pthread_mutexattr_destroy(&a);
}

static void *lock_and_die(void *arg)
{
	printf("  dying owner lock %s\n", e(pthread_mutex_lock(&m)));
	fflush(stdout);
	return arg;
}

static void *unlock_foreign(void *arg)
{
	(void)arg;
	return (void *)(long)pthread_mutex_unlock(&m);
}

static void *trylock_foreign(void *arg)
{
	(void)arg;
	return (void *)(long)pthread_mutex_trylock(&m);
}

static void *timed_foreign(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return (void *)(long)pthread_mutex_timedlock(&m, &ts);
}

static void *count(void *arg)
{
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&m);
		int c = counter;
		if (i % 64 == 0)
			sched_yield();
		counter = c + 1;
		pthread_mutex_unlock(&m);
	}
	return arg;
}

static long run(void *(*f)(void *))
{
	pthread_t t;
	void *r;
	pthread_create(&t, 0, f, 0);
	pthread_join(t, &r);
	return (long)r;
}

/* A waiter blocked while the owner dies must be woken with EOWNERDEAD. */
static void *blocked_locker(void *arg)
{
	(void)arg;
	int r = pthread_mutex_lock(&m);
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&m);
	pthread_mutex_unlock(&m);
	return (void *)(long)r;
}

static void *lock_sleep_die(void *arg)
{
	pthread_mutex_lock(&m);
	usleep(100 * 1000);
	return arg;
}

static void scenario(int robust, int pi, int type)
{
	init(robust, pi, type);
	printf("  lock %s", e(pthread_mutex_lock(&m)));
	printf(" relock %s", type == PTHREAD_MUTEX_NORMAL ? "(skipped)" : e(pthread_mutex_lock(&m)));
	if (type == PTHREAD_MUTEX_RECURSIVE)
		pthread_mutex_unlock(&m);
	int tr = pthread_mutex_trylock(&m);
	printf(" trylock-own %s", e(tr));
	if (!tr)
		pthread_mutex_unlock(&m);
	printf(" trylock-other %s", e((int)run(trylock_foreign)));
	printf(" timed-other %s", e((int)run(timed_foreign)));
	if (type != PTHREAD_MUTEX_NORMAL)
		printf(" unlock-other %s", e((int)run(unlock_foreign)));
	printf(" unlock %s\n", e(pthread_mutex_unlock(&m)));

	counter = 0;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], 0, count, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	printf("  counter %d\n", counter);

	if (!robust)
		return;
	run(lock_and_die);
	int r = pthread_mutex_lock(&m);
	printf("  after owner died: lock %s", e(r));
	if (r == EOWNERDEAD) {
		printf(" consistent %d", pthread_mutex_consistent(&m));
		printf(" unlock %s", e(pthread_mutex_unlock(&m)));
		printf(" lock %s", e(pthread_mutex_lock(&m)));
	}
	printf(" unlock %s\n", e(pthread_mutex_unlock(&m)));

	run(lock_and_die);
	r = pthread_mutex_lock(&m);
	printf("  left inconsistent: lock %s unlock %s", e(r), e(pthread_mutex_unlock(&m)));
	printf(" lock %s\n", e(pthread_mutex_lock(&m)));
	pthread_mutex_destroy(&m);

	init(robust, pi, type);
	pthread_t owner, waiter;
	pthread_create(&owner, 0, lock_sleep_die, 0);
	usleep(20 * 1000);
	void *wr;
	pthread_create(&waiter, 0, blocked_locker, 0);
	pthread_join(owner, 0);
	pthread_join(waiter, &wr);
	printf("  blocked waiter when the owner died: %s\n", e((int)(long)wr));
	pthread_mutex_destroy(&m);
}

/* A thread that leaves by the raw exit call, without pthread_exit's own
 * walk: the kernel's walk of its robust list (set for a process-shared
 * robust mutex) must mark the mutex. */
static void *lock_and_vanish(void *arg)
{
	pthread_mutex_lock(&m);
	syscall(SYS_exit, 0);
	return arg;
}

static void kernel_walk(int pi)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setprotocol(&a, pi ? PTHREAD_PRIO_INHERIT : PTHREAD_PRIO_NONE);
	pthread_mutex_init(&m, &a);
	pthread_t t;
	pthread_create(&t, 0, lock_and_vanish, 0);
	usleep(50 * 1000);
	int r = pthread_mutex_lock(&m);
	printf("raw exit of a pshared robust owner (pi=%d): lock %s\n", pi, e(r));
}

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	kernel_walk(0);
	kernel_walk(1);
	int types[] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_RECURSIVE };
	for (int robust = 0; robust < 2; robust++)
		for (int pi = 0; pi < 2; pi++)
			for (int i = 0; i < 3; i++)
				scenario(robust, pi, types[i]);
	return 0;
}
