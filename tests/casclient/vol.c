/* Appends one line to the file argv[1] names (in a CAS-keyed encrypted
 * volume), then prints how many lines it holds. */
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	FILE *f = fopen(argv[1], "a");
	if (!f || fputs("one more start\n", f) < 0 || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	f = fopen(argv[1], "r");
	char line[64];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n++;
	printf("lines=%d\n", n);
	return f ? 0 : 1;
}
