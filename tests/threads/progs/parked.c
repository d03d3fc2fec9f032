/* N pthreads (argv[1]) all blocked — half on a condition variable, half in
 * read() on a pipe — while main reports "ready" and waits for a line on
 * stdin; then everyone is released and joined. For counting OS threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, waiting, pfd[2];

static void *worker(void *arg)
{
	if ((long)arg % 2) {
		char c;
		pthread_mutex_lock(&mu);
		waiting++;
		pthread_mutex_unlock(&mu);
		return (void *)(long)(read(pfd[0], &c, 1) == 1);
	}
	pthread_mutex_lock(&mu);
	waiting++;
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return (void *)1l;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	pthread_t *t = calloc(n, sizeof *t);
	if (pipe(pfd))
		return 1;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 32 << 10);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &a, worker, (void *)i))
			return 1;
	for (;;) {
		pthread_mutex_lock(&mu);
		int w = waiting;
		pthread_mutex_unlock(&mu);
		if (w == n)
			break;
		usleep(1000);
	}
	usleep(20000);
	printf("ready %d\n", n);
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof line, stdin))
		return 1;
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n / 2 + 1; i++)
		if (write(pfd[1], "x", 1) != 1)
			return 1;
	long ok = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (long)r;
	}
	printf("joined %ld\n", ok);
	return 0;
}
