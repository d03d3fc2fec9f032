/*
 * Sequential file throughput: write MIB MiB to PATH in CHUNK-byte write()s,
 * fsync, close; then open it again, read it back in the same chunks and
 * unlink it. Prints "<write MB/s> <read MB/s>" (MB = 10^6 bytes). The same binary runs
 * on an unprotected path and in an encrypted region (bench/fs_shield.py).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: fs_seq PATH MIB CHUNK\n");
		return 2;
	}
	size_t total = strtoul(argv[2], NULL, 0) << 20, chunk = strtoul(argv[3], NULL, 0);
	char *buf = malloc(chunk);

	if (!buf || !chunk)
		return 2;
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (char)(i * 131 + 7);
	double t = now();
	int fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0600);

	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (size_t done = 0; done < total; done += chunk)
		if (write(fd, buf, chunk) != (ssize_t)chunk) {
			perror("write");
			return 1;
		}
	if (fsync(fd) || close(fd)) {
		perror("fsync/close");
		return 1;
	}
	double w = now() - t;

	t = now();
	fd = open(argv[1], O_RDONLY);
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, buf, chunk)) > 0)
		got += (size_t)n;
	close(fd);
	double r = now() - t;

	unlink(argv[1]);                /* through the shield: the volume forgets it */

	if (got != total) {
		fprintf(stderr, "read %zu of %zu bytes\n", got, total);
		return 1;
	}
	printf("%.1f %.1f\n", total / w / 1e6, total / r / 1e6);
	return 0;
}
