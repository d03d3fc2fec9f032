/* memcached as root (-u root) drops privileges with setgroups/setgid/setuid
 * after its threads started. musl applies set*id to every thread
 * (__synccall: a signal to each thread, then a semaphore wait), so the call
 * returns only once each thread has run its part. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, 0, idle, 0))
		return 2;
	printf("setgid -> %d\n", setgid(getgid()));
	return 0;
}
