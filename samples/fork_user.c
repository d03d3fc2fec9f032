/* A program that needs fork: scone-check refuses it at link time, naming
 * this line; built with --scone-allow=fork it links, and fork() then fails
 * with ENOSYS inside the enclave. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		printf("fork failed: %s\n", strerror(errno));
		return 0;
	}
	if (pid == 0)
		_exit(7);
	int status;
	waitpid(pid, &status, 0);
	printf("child exited with %d\n", WEXITSTATUS(status));
	return 0;
}
