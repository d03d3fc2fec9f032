/* A handler runs on the thread the signal was sent to: pthread_self() in it
 * is that thread (musl's __synccall relies on it), and a handler that
 * waits holds up only its own thread, not the signals of others. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_t t[2];
static int ran_as[2];
static sem_t entered, release;

static void on_usr1(int sig)
{
	(void)sig;
	for (int i = 0; i < 2; i++)
		if (pthread_equal(pthread_self(), t[i]))
			ran_as[i] = 1;
	sem_post(&entered);
	sem_wait(&release);
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static int entered_within(int seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	return sem_timedwait(&entered, &ts) == 0;
}

int main(void)
{
	sem_init(&entered, 0, 0);
	sem_init(&release, 0, 0);
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], 0, idle, 0))
			return 2;
	int n = 0;
	for (int i = 0; i < 2; i++) {
		pthread_kill(t[i], SIGUSR1);
		n += entered_within(5);
	}
	printf("handlers entered: %d, as their receiver: %d %d\n", n, ran_as[0], ran_as[1]);
	for (int i = 0; i < n; i++)
		sem_post(&release);
	return 0;
}
