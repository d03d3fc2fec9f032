/* Run argv[1..] and print its peak resident set in KiB. A small parent of
 * its own: a child forked from a large process (pytest) would inherit that
 * process's resident pages in its peak. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return 2;
	printf("%d %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128, ru.ru_maxrss);
	return 0;
}
