/* Create argv[1], write a line, read it back: prints "opened" or the errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) { puts("hello"); return 0; }
	int fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0) { printf("%s\n", errno == EACCES ? "EACCES" : strerror(errno)); return 1; }
	write(fd, "secret marker\n", 14);
	char buf[32] = {0};
	pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	printf("opened [%s]\n", buf);
	return 0;
}
