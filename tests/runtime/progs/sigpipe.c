/* An ignored SIGPIPE must hold on the host too: write to a closed pipe
 * fails with EPIPE instead of killing the process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int fd[2];
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || pipe(fd))
		return 1;
	close(fd[0]);
	long r = write(fd[1], "x", 1);
	printf("write=%ld %s\n", r, errno == EPIPE ? "EPIPE" : "other");
	return r == -1 && errno == EPIPE ? 0 : 1;
}
