/* For each line on stdin: one CLOCK_REALTIME and one CLOCK_MONOTONIC read,
 * printed at once; the test brackets them with its own clock. */
#include <stdio.h>
#include <time.h>

int main(void)
{
	char line[64];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		struct timespec r, m;
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m);
		printf("%lld %lld\n", r.tv_sec * 1000000000LL + r.tv_nsec, m.tv_sec * 1000000000LL + m.tv_nsec);
	}
	return 0;
}
