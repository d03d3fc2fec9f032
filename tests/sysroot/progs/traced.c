/* Exercises many syscall paths in one deterministic run (no restarted calls),
 * so that the hook's counts can be compared with strace's for the same run. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }
static void *worker(void *arg) { return (char *)arg + 1; }

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char *big = malloc(1 << 20);
	memset(big, 1, 1 << 20);
	free(big);

	int fd = open("/proc/self/stat", O_RDONLY);
	char buf[256];
	if (fd < 0 || read(fd, buf, sizeof buf) <= 0)
		return 10;
	close(fd);

	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], 0, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		if ((long)r != i + 1)
			return 11;
	}

	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	if (got != SIGUSR1)
		return 12;

	/* A detached thread frees its own stack: __unmapself. Wait until the
	 * kernel has really removed it, so its last calls are in both counts. */
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_t d;
	pthread_create(&d, &a, worker, 0);
	while (tasks() > 1)
		sched_yield();

	printf("traced ok %d\n", ts.tv_sec > 0);
	return 0;
}
