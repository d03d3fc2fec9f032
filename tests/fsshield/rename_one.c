/* rename(argv[1], argv[2]) with RENAME_NOREPLACE when argv[3] is "noreplace"; prints the result. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	long r = argc > 3 ? syscall(SYS_renameat2, -100, argv[1], -100, argv[2], 1) : rename(argv[1], argv[2]);
	printf("%ld %s\n", r, r ? strerror(errno) : "ok");
	return r ? 1 : 0;
}
