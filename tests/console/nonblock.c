/* 1 MiB to a non-blocking stdout in 64 KiB writes, waiting with poll on
 * EAGAIN, as event loops do. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

int main(void)
{
	static char b[65536];
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
	unsigned long at = 0, total = 1 << 20;
	while (at < total) {
		size_t n = sizeof b;
		for (size_t i = 0; i < n; i++)
			b[i] = (char)('a' + (at + i) % 26);
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(1, b + off, n - off);
			if (w < 0 && errno == EAGAIN) {
				struct pollfd p = { 1, POLLOUT, 0 };
				poll(&p, 1, -1);
				continue;
			}
			if (w <= 0)
				return 3;
			off += (size_t)w;
		}
		at += n;
	}
	return 0;
}
