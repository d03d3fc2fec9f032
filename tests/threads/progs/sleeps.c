/* After "go" on stdin: argv[1] sleeps of argv[2] microseconds each, then
 * "done"; the test times them with its own clock. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	useconds_t us = (useconds_t)atoi(argv[2]);
	char line[16];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	if (!fgets(line, sizeof line, stdin))
		return 1;
	for (int i = 0; i < n; i++)
		usleep(us);
	printf("done\n");
	return 0;
}
