/* Reads stdin with stdio and raw read, writes it back upper-cased with a
 * line count: an echo whose output depends on every input byte. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char line[5000];
	int lines = 0;
	while (fgets(line, sizeof line, stdin)) {
		for (char *p = line; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		fputs(line, stdout);
		lines++;
	}
	printf("lines=%d eof=%d\n", lines, feof(stdin));
	fprintf(stderr, "done\n");
	return lines % 256;
}
