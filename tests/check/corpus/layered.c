/* The application reaches exec through its own helpers and through libc's own
 * callers: each finding is at the application's call into libc. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int run_shell(const char *cmd)
{
	return system(cmd); /* EXPECT: system */
}

static FILE *open_pipe(const char *cmd)
{
	return popen(cmd, "r"); /* EXPECT: popen */
}

int helper(int n)
{
	if (n > 1)
		return run_shell("true");
	FILE *f = open_pipe("true");
	return f ? pclose(f) : -1;
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 3)
		return helper(argc);
	return 0;
}
