/* fork, vfork+exec, posix_spawn and system through the hook. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
	int st;
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		return 10;

	p = vfork();
	if (p == 0) {
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)0);
		_exit(127);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
		return 11;

	char *argv[] = {"sh", "-c", "echo spawned", 0};
	if (posix_spawn(&p, "/bin/sh", 0, 0, argv, environ) != 0)
		return 12;
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 13;

	st = system("exit 3");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 3)
		return 14;
	puts("spawn ok");
	return 0;
}
