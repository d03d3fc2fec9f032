/* What tests/sizing measures: a recursion of known depth, a heap of known
 * size, threads, a run ended by a signal, a stack overflow, a refused
 * request, and what the program is told about the machine's memory. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static volatile char sink;

/* About `kib` KiB of stack: 1 KiB frames, each touched. */
static int recurse(int kib)
{
	volatile char frame[1000];
	memset((char *)frame, kib & 0xff, sizeof frame);
	if (kib <= 1)
		return frame[10];
	return recurse(kib - 1) + frame[kib % 1000];
}

static void *worker(void *arg)
{
	(void)arg;
	sink = (char)recurse(32);
	sleep(1);
	return 0;
}

static void *deep(void *arg)
{
	sink = (char)recurse((int)(long)arg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 0;
	if (!strcmp(mode, "stack")) {              /* n KiB of stack */
		sink = (char)recurse((int)n);
		puts("ok");
	} else if (!strcmp(mode, "heap")) {        /* n MiB held at once */
		char *p = malloc((size_t)n << 20);
		if (!p) {
			puts("ENOMEM");
			return 3;
		}
		memset(p, 1, (size_t)n << 20);
		sink = p[n];
		free(p);
		puts("ok");
	} else if (!strcmp(mode, "threads")) {     /* n pthreads at once */
		pthread_t t[64];
		for (long i = 0; i < n; i++)
			pthread_create(&t[i], 0, worker, 0);
		for (long i = 0; i < n; i++)
			pthread_join(t[i], 0);
		puts("ok");
	} else if (!strcmp(mode, "tstack")) {      /* a pthread n KiB deep, no switch on the way */
		pthread_attr_t a;
		pthread_t t;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 4 << 20);
		if (pthread_create(&t, &a, deep, (void *)n) || pthread_join(t, 0))
			return 5;
		/* and a detached one, half as deep, that is gone before exit */
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, deep, (void *)(n / 2)))
			return 5;
		sleep(1);
		puts("ok");
	} else if (!strcmp(mode, "wait")) {        /* n MiB, n KiB deep, then wait for a signal */
		char *p = malloc((size_t)n << 20);
		memset(p, 1, (size_t)n << 20);
		sink = (char)(recurse((int)n) + p[n]);
		puts("ready");
		fflush(stdout);
		pause();
	} else if (!strcmp(mode, "sysinfo")) {
		struct sysinfo si;
		if (sysinfo(&si))
			return 4;
		printf("totalram %llu\nfreeram %llu\nphys_pages %ld\navphys_pages %ld\npagesize %ld\n",
		       (unsigned long long)si.totalram * si.mem_unit,
		       (unsigned long long)si.freeram * si.mem_unit,
		       sysconf(_SC_PHYS_PAGES), sysconf(_SC_AVPHYS_PAGES), sysconf(_SC_PAGESIZE));
		char *p = malloc(8 << 20);
		memset(p, 1, 8 << 20);
		sink = p[3];
		sysinfo(&si);
		printf("freeram_after_8M %llu\n", (unsigned long long)si.freeram * si.mem_unit);
	} else {
		fprintf(stderr, "usage: sizes stack|heap|threads|tstack|wait|sysinfo N\n");
		return 2;
	}
	return 0;
}
