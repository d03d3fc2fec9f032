/* stdio on files from inside the enclave: write, append, seek, read back. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror("fopen w");
		return 1;
	}
	for (int i = 0; i < 1000; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
	f = fopen(argv[1], "a");
	fputs("tail\n", f);
	fclose(f);
	f = fopen(argv[1], "r");
	char buf[64];
	fseek(f, -5, SEEK_END);
	if (!fgets(buf, sizeof buf, f) || strcmp(buf, "tail\n"))
		return 3;
	rewind(f);
	int n = 0;
	while (fgets(buf, sizeof buf, f))
		n++;
	fclose(f);
	printf("lines %d\n", n);
	if (argc > 2 && unlink(argv[1]))
		return 4;
	return 0;
}
