/* Create argv[1], write argv[2] and return from main with it still open:
 * the runtime's exit path commits it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	int fd = open(argv[1], O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, argv[2], strlen(argv[2])) < 0) { perror("open/write"); return 1; }
	puts("left open");
	return 0;
}
