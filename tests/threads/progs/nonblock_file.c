/* A regular file opened O_NONBLOCK (lighttpd opens its configuration so)
 * is read like any other: O_NONBLOCK has no effect on regular files, so a
 * read that must go to the disk waits for it and never says EAGAIN. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 16], back[1 << 16];
	const char *path = argc > 1 ? argv[1] : "nonblock_file.dat";
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)('a' + i % 26);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf || fsync(fd))
		return 2;
	close(fd);
	int bad = 0;
	for (int round = 0; round < 20; round++) {
		fd = open(path, O_RDONLY | O_NONBLOCK);
		/* Out of the page cache, so that the read must wait for the disk. */
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		ssize_t n = read(fd, back, sizeof back);
		if (n != (ssize_t)sizeof back || memcmp(buf, back, sizeof back)) {
			printf("round %d: read %zd (%s)\n", round, n, n < 0 ? strerror(errno) : "short or wrong");
			bad = 1;
			break;
		}
		close(fd);
	}
	unlink(path);
	puts(bad ? "FAIL" : "ok");
	return bad;
}
