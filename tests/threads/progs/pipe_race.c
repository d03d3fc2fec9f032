/* Parked reads and writes handed back on a busy pipe (runtime/untrusted/
 * blocking.c). Part 1: argv[1] lthreads each read argv[2] single bytes
 * from one pipe while main writes one byte at a time, so that every byte
 * wakes many parked reads at once on different sthreads. Part 2: one
 * blocking write of argv[3] bytes, more than the pipe holds (64 KiB), drained
 * by a reader that takes small chunks and pauses between them. A watchdog
 * ends the program with status 3 if either part stops making progress
 * (an sthread blocked inside read() or write() starves the others). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int rounds, pfd[2], big[2];
static long got, big_len, big_read, big_sum;

static void *watchdog(void *arg)
{
	(void)arg;
	sleep(30);
	_exit(3);   /* no output: printing needs the sthreads that are stuck */
}

static void *reader(void *arg)
{
	(void)arg;
	char c;
	for (int i = 0; i < rounds; i++) {
		if (read(pfd[0], &c, 1) != 1)
			return (void *)1;
		__atomic_add_fetch(&got, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static void *slow_reader(void *arg)
{
	(void)arg;
	unsigned char buf[1000];
	struct timespec pause = { 0, 200000 };
	while (big_read < big_len) {
		ssize_t n = read(big[0], buf, sizeof buf);
		if (n <= 0)
			return (void *)1;
		for (ssize_t i = 0; i < n; i++)
			big_sum += buf[i];
		big_read += n;
		nanosleep(&pause, 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64;
	rounds = argc > 2 ? atoi(argv[2]) : 20;
	big_len = argc > 3 ? atol(argv[3]) : 100000;
	pthread_t w, t[256], s;
	if (n > 256 || pipe(pfd) || pipe(big) || pthread_create(&w, 0, watchdog, 0))
		return 1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], 0, reader, 0))
			return 1;
	struct timespec gap = { 0, 20000 };
	for (long i = 0; i < (long)n * rounds; i++) {
		if (write(pfd[1], "x", 1) != 1)
			return 1;
		if (i % 8 == 0)
			nanosleep(&gap, 0);
	}
	long bad = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += r != 0;
	}
	printf("part 1: %ld bytes read by %d threads, %ld failed\n", got, n, bad);
	fflush(stdout);

	unsigned char *buf = malloc(big_len);
	long sum = 0;
	for (long i = 0; i < big_len; i++)
		sum += buf[i] = (unsigned char)(i * 7);
	if (pthread_create(&s, 0, slow_reader, 0))
		return 1;
	ssize_t wrote = write(big[1], buf, big_len);
	void *r;
	pthread_join(s, &r);
	printf("part 2: wrote %ld of %ld, read %ld, sums %s\n", (long)wrote, big_len, big_read,
	       sum == big_sum ? "match" : "differ");
	return 0;
}
