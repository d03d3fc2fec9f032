/* Shared by the scheduler test programs: failures name the check and exit 1. */
#ifndef SCHED_CHECK_H
#define SCHED_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		exit(1); \
	} \
} while (0)

static inline long long mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

/* Built natively (glibc, kernel futexes, OS threads) the same program is
 * the oracle: its checks must hold against the real kernel too. */
#ifdef SCHED_NATIVE
int test_main(int argc, char **argv);
int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
#endif

#endif
