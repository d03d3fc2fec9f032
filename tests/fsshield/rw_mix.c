/* A seeded mix of pwrite, pread, write, lseek, ftruncate and fsync on one
 * file (argv[1]), with a second descriptor reading what the first wrote;
 * prints an FNV-1a hash of every read and of the final content, so a run
 * in an encrypted region can be compared with a native one. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t seed = 14;

static uint64_t rnd(uint64_t n)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (seed >> 33) % n;
}

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

int main(int argc, char **argv)
{
	static unsigned char buf[70000];
	int ops = argc > 2 ? atoi(argv[2]) : 3000;
	int fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0600), rd = open(argv[1], O_RDONLY);
	if (fd < 0 || rd < 0)
		return perror("open"), 1;
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < ops; i++) {
		uint64_t k = rnd(100), off = rnd(3 << 20), len = 1 + rnd(k < 5 ? sizeof buf : 9000);
		long r;
		if (k < 45) {
			for (size_t j = 0; j < len; j++)
				buf[j] = (unsigned char)(i + j * 7);
			r = pwrite(fd, buf, len, off);
		} else if (k < 85) {
			r = pread(k & 1 ? rd : fd, buf, len, off);
			h = fnv(buf, r > 0 ? r : 0, h);
		} else if (k < 92) {
			lseek(fd, off, SEEK_SET);
			r = write(fd, buf, len);
		} else if (k < 96) {
			r = ftruncate(fd, rnd(4 << 20));
		} else {
			r = fsync(fd);
		}
		printf("%d %lu %ld %016llx\n", i, (unsigned long)k, r, (unsigned long long)h);
	}
	off_t size = lseek(rd, 0, SEEK_END);
	lseek(rd, 0, SEEK_SET);
	long n;
	h = 1469598103934665603ull;
	while ((n = read(rd, buf, sizeof buf)) > 0)
		h = fnv(buf, n, h);
	printf("size %lld content %016llx\n", (long long)size, (unsigned long long)h);
	return close(fd) || close(rd);
}
