/* Append "line N" to argv[1] and fsync (a commit of its volume), N = 0, 1,
 * ..., printing "committed N" after each, until killed. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (fd < 0) { perror("open"); return 1; }
	char line[32];
	for (int i = 0;; i++) {
		int n = snprintf(line, sizeof line, "line %d\n", i);
		if (write(fd, line, n) != n || fsync(fd)) { perror("write"); return 1; }
		printf("committed %d\n", i);
		fflush(stdout);
	}
}
