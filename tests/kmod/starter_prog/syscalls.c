/*
 * A scone-gcc program for the guest: many system calls in bursts, with
 * pauses computed inside the enclave (no system call) long enough for every
 * sthread to fall asleep in scone.ko, so that each burst needs a wake-up.
 * While its queues are registered it reads the module's pair count.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static void spin_inside(long ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);   /* one call; the waiting is all inside */
	for (;;) {
		for (int i = 0; i < 200000; i++)
			sink += i;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= ms)
			return;
	}
}

int main(int argc, char **argv)
{
	int bursts = argc > 1 ? atoi(argv[1]) : 6, calls = argc > 2 ? atoi(argv[2]) : 2000;
	long ppid = getppid(), bad = 0;
	char pairs[32] = "?";
	int fd = open("/sys/class/misc/scone/pairs", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, pairs, sizeof pairs - 1);
		pairs[n > 0 ? n : 0] = 0;
		close(fd);
	}
	for (int b = 0; b < bursts; b++) {
		spin_inside(60);
		for (int i = 0; i < calls; i++)
			bad += getppid() != ppid;
	}
	printf("KPROG pairs_while_running=%s", pairs);
	printf("KPROG calls=%d bad=%ld\n", bursts * calls, bad);
	return bad != 0;
}
