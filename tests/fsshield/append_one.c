/* Append argv[2] to argv[1] (O_APPEND), fsync, close: prints "ok" or the errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	int fd = open(argv[1], O_WRONLY | O_APPEND);
	if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
	if (write(fd, argv[2], strlen(argv[2])) < 0 || fsync(fd) || close(fd)) {
		printf("write: %s\n", strerror(errno));
		return 1;
	}
	puts("ok");
	return 0;
}
