/* pthread_cancel of threads blocked in cancellable calls: the blocked PC is
 * inside the hook, not in syscall_cp.s. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void *reader(void *arg)
{
	char b;
	(void)arg;
	read(fds[0], &b, 1);
	return 0;
}

static void unlock(void *arg) { pthread_mutex_unlock(arg); }

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock, &m);
	for (;;)
		pthread_cond_wait(&c, &m);
	pthread_cleanup_pop(1);
	return 0;
}

static int cancel_after_block(void *(*fn)(void *))
{
	pthread_t t;
	void *r;
	struct timespec ts = {0, 50 * 1000 * 1000};
	pthread_create(&t, 0, fn, 0);
	nanosleep(&ts, 0);
	pthread_cancel(t);
	pthread_join(t, &r);
	return r == PTHREAD_CANCELED;
}

/* Cancel at once, many times: the signal lands anywhere on the way into
 * the blocking read, including the hook's own entry path. */
static int cancel_racing(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		pthread_t t;
		void *r;
		pthread_create(&t, 0, reader, 0);
		for (volatile int spin = i % 64 * 16; spin; spin--)
			;
		pthread_cancel(t);
		pthread_join(t, &r);
		if (r != PTHREAD_CANCELED)
			return 0;
	}
	return 1;
}

int main(void)
{
	alarm(20);
	pipe(fds);
	if (!cancel_after_block(reader))
		return 10;
	if (!cancel_racing(2000))
		return 13;
	if (!cancel_after_block(waiter))
		return 11;
	/* The mutex was released by the cleanup handler. */
	if (pthread_mutex_trylock(&m) != 0)
		return 12;
	puts("cancel ok");
	return 0;
}
