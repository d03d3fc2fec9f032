/* 1 MiB to stdout and stderr, interleaved, in odd chunk sizes, through
 * write, writev and stdio; a deterministic pattern a test recomputes. */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned char pat(unsigned long i, int fd) { return (unsigned char)((i * 131 + fd * 7) % 251); }

static void put(int fd, unsigned long *at, size_t n, int how)
{
	static unsigned char b[70000];
	for (size_t i = 0; i < n; i++)
		b[i] = pat(*at + i, fd);
	if (how == 0) {
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, b + off, n - off);
			if (w <= 0)
				_exit(9);
			off += (size_t)w;
		}
	} else if (how == 1) {
		size_t h = n / 3;
		struct iovec v[3] = { { b, h }, { b + h, 0 }, { b + h, n - h } };
		ssize_t w = writev(fd, v, 3);
		if (w != (ssize_t)n)
			_exit(10);
	} else {
		FILE *f = fd == 1 ? stdout : stderr;
		fwrite(b, 1, n, f);
		fflush(f);
	}
	*at += n;
}

int main(void)
{
	static const size_t sizes[] = { 1, 3, 4095, 4097, 17, 65537, 16384, 16385, 333, 0, 9999 };
	unsigned long at[3] = { 0, 0, 0 };
	unsigned long total = 1 << 20;
	for (int k = 0; at[1] < total || at[2] < total; k++) {
		int fd = 1 + (k % 2);
		size_t n = sizes[k % 11];
		if (at[fd] + n > total)
			n = total - at[fd];
		put(fd, &at[fd], n, k % 3);
	}
	return 0;
}
