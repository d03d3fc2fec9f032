/* The smallest enclave program: arguments, environment, stdio, exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *who = argc > 1 ? argv[1] : "world";
	printf("Hello, %s, from inside the enclave!\n", who);
	const char *home = getenv("HOME");
	printf("argc=%d HOME=%s\n", argc, home ? home : "(unset)");
	return argc > 2 ? atoi(argv[2]) : 0;
}
