/* An unsupported system call at run time: ENOSYS and one log line. The
 * number is hidden from the static checker on purpose. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	volatile long nr = 59;   /* execve */
	long r = syscall(nr, "/bin/true", 0, 0);
	printf("r=%ld errno=%s\n", r, errno == ENOSYS ? "ENOSYS" : "other");
	return r == -1 && errno == ENOSYS ? 0 : 1;
}
