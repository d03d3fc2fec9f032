/* Uses only what enclaves serve: threads (clone with thread flags inside
 * pthread_create), syscall() with a supported number, files, memory, time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int counter;

static void *worker(void *arg)
{
	pthread_mutex_lock(&lock);
	counter += (int)(long)arg;
	pthread_mutex_unlock(&lock);
	return 0;
}

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int twice(int x) { return 2 * x; }
static int (*const ops[])(int) = { twice };

int main(int argc, char **argv)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], 0, worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	int v[3] = { 3, 1, 2 };
	qsort(v, 3, sizeof v[0], cmp);
	char buf[16];
	getrandom(buf, sizeof buf, 0);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	FILE *f = fopen(argc > 1 ? argv[1] : "/dev/null", "r");
	if (f)
		fclose(f);
	char *s = strdup("x");
	free(s);
	printf("%d %d %ld %d\n", counter, v[0], syscall(SYS_getpid), ops[0](argc));
	return 0;
}
