/* What an attested start gives a program: it prints its arguments, one
 * environment variable and an injected file as hex (so that a trace of its
 * own output never holds them in clear), then waits for stdin to close so
 * the test can read /proc/PID while it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void put_hex(const char *what, const char *s)
{
	printf("%s=", what);
	for (; s && *s; s++)
		printf("%02x", (unsigned char)*s);
	printf("\n");
}

/* What a constructor of the program sees: the policy's environment too. */
static const char *early;
__attribute__((constructor)) static void before_main(void)
{
	early = getenv("APP_SECRET");
}

int main(int argc, char **argv)
{
	char name[32], buf[4096];
	for (int i = 0; i < argc; i++) {
		snprintf(name, sizeof name, "arg%d", i);
		put_hex(name, argv[i]);
	}
	put_hex("env", getenv("APP_SECRET"));
	put_hex("early", early);
	FILE *f = fopen("/run/secrets/key.txt", "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	put_hex("file", f ? buf : NULL);
	if (f)
		fclose(f);
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
