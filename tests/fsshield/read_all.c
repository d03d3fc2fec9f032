/* Print the whole of argv[1] on stdout, or "open: ..." / "read: ..." and exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
	char buf[65536]; long n, t = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) { fwrite(buf, 1, n, stdout); t += n; }
	if (n < 0) { printf("read: %s\n", strerror(errno)); return 1; }
	return 0;
}
