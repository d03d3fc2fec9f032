/* Threads passing data through pipes and a mutex/condvar while an interval
 * timer interrupts them every 200us: restarted and interrupted calls, signal
 * returns and futex waits all through the hook, checked for lost data. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define ROUNDS 20000
static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static int p1[2], p2[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static long shared, turns;

static void *echo(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int v;
		if (read(p1[0], &v, sizeof v) != sizeof v)
			return (void *)1;
		v++;
		if (write(p2[1], &v, sizeof v) != sizeof v)
			return (void *)2;
	}
	return 0;
}

static void *counter(void *arg)
{
	long me = (long)arg;
	for (int i = 0; i < ROUNDS / 4; i++) {
		pthread_mutex_lock(&m);
		while (turns % 2 != me)
			pthread_cond_wait(&c, &m);
		shared++;
		turns++;
		pthread_cond_broadcast(&c);
		pthread_mutex_unlock(&m);
	}
	return 0;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, 0);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, 0);

	pipe(p1);
	pipe(p2);
	pthread_t e, a, b;
	pthread_create(&e, 0, echo, 0);
	pthread_create(&a, 0, counter, (void *)0);
	pthread_create(&b, 0, counter, (void *)1);
	for (int i = 0; i < ROUNDS; i++) {
		int v = i, r;
		if (write(p1[1], &v, sizeof v) != sizeof v || read(p2[0], &r, sizeof r) != sizeof r
		    || r != i + 1) {
			fprintf(stderr, "round %d: got %d\n", i, r);
			return 10;
		}
	}
	void *re;
	pthread_join(e, &re);
	pthread_join(a, 0);
	pthread_join(b, 0);
	if (re || shared != ROUNDS / 2)
		return 11;
	printf("stress ok %d\n", ticks > 0);
	return 0;
}
