/* Parent and forked children (fork and vfork) each report their own counts. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int st;
	pid_t p = fork();
	if (p == 0) {
		write(1, "child\n", 6);
		_exit(0);
	}
	if (waitpid(p, &st, 0) != p || st != 0)
		return 10;
	p = vfork();
	if (p == 0)
		_exit(getppid() > 0 ? 0 : 1);
	if (waitpid(p, &st, 0) != p || st != 0)
		return 11;
	write(1, "parent\n", 7);
	return 0;
}
