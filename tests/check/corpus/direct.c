/* Unsupported calls made directly by name, each on its own line. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

extern char **environ;

static void spawners(int n, char **argv)
{
	pid_t pid;
	if (n == 1) fork(); /* EXPECT: fork */
	if (n == 2) vfork(); /* EXPECT: vfork */
	if (n == 3) execve("/bin/true", argv, environ); /* EXPECT: execve */
	if (n == 4) execl("/bin/true", "true", (char *)0); /* EXPECT: execl */
	if (n == 5) execlp("true", "true", (char *)0); /* EXPECT: execlp */
	if (n == 6) execle("/bin/true", "true", (char *)0, environ); /* EXPECT: execle */
	if (n == 7) execv("/bin/true", argv); /* EXPECT: execv */
	if (n == 8) execvp("true", argv); /* EXPECT: execvp */
	if (n == 9) execvpe("true", argv, environ); /* EXPECT: execvpe */
	if (n == 10) fexecve(0, argv, environ); /* EXPECT: fexecve */
	if (n == 11) posix_spawn(&pid, "/bin/true", 0, 0, argv, environ); /* EXPECT: posix_spawn */
	if (n == 12) posix_spawnp(&pid, "true", 0, 0, argv, environ); /* EXPECT: posix_spawnp */
}

int main(int argc, char **argv)
{
	spawners(argc, argv);
	if (argc == 13) system("true"); /* EXPECT: system */
	if (argc == 14) pclose(popen("true", "r")); /* EXPECT: popen */
	if (argc == 15) daemon(0, 0); /* EXPECT: daemon */
	if (argc == 16) ptrace(PTRACE_TRACEME, 0, 0, 0); /* EXPECT: ptrace */
	puts("direct");
	return 0;
}
