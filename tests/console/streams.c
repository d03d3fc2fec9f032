/* The console shield's test programs in one binary (one link per policy):
 * argv[1] names the mode, the rest are its arguments. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <string.h>

/* 1 MiB to stdout and stderr, interleaved, in odd chunk sizes, through
 * write, writev and stdio; a deterministic pattern a test recomputes. */

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

static int bulk_main(int argc, char **argv)
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

/* Reads stdin with stdio and raw read, writes it back upper-cased with a
 * line count: an echo whose output depends on every input byte. */

static int echo_stdin_main(int argc, char **argv)
{
	char line[5000];
	int lines = 0;
	while (fgets(line, sizeof line, stdin)) {
		for (char *p = line; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		fputs(line, stdout);
		lines++;
	}
	printf("lines=%d eof=%d\n", lines, feof(stdin));
	fprintf(stderr, "done\n");
	return lines % 256;
}

/* Descriptor moves on the standard streams (FORMAT.md "Descriptors"): a dup
 * of stdout is stdout, 2>&1 done by the program, a file put on fd 1 with
 * dup2, close of a copy. */

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(20 + fd);
}

static int dups_main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	say(1, "a\n");
	say(2, "to stderr\n");
	int d = dup(1);
	say(d, "b\n");
	int e = fcntl(1, F_DUPFD_CLOEXEC, 10);
	say(e, "b2\n");
	close(e);
	dup2(1, 2);                         /* 2>&1 */
	say(2, "c\n");
	int f = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(f, 1);                         /* >file */
	close(f);
	say(1, "into the file\n");
	say(d, "d\n");
	close(d);
	say(2, "e\n");
	return 0;
}

/* 1 MiB to a non-blocking stdout in 64 KiB writes, waiting with poll on
 * EAGAIN, as event loops do. */

static int nonblock_main(int argc, char **argv)
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

/* Reads stdin 5 bytes at a time, each read after poll (or select) says
 * it is readable (3 s at most), echoing each piece at once, until a newline: an event loop's way. */
static int pollin_main(int argc, char **argv)
{
	int sel = argc > 1 && !strcmp(argv[1], "select");
	char b[5];
	for (;;) {
		struct pollfd p = { 0, POLLIN, 0 };
		fd_set r;
		struct timeval tv = { 3, 0 };
		FD_ZERO(&r);
		FD_SET(0, &r);
		if ((sel ? select(1, &r, 0, 0, &tv) : poll(&p, 1, 3000)) != 1) {
			write(1, "timeout\n", 8);
			return 1;
		}
		ssize_t n = read(0, b, sizeof b);
		if (n <= 0)
			return 2;
		write(1, b, (size_t)n);
		if (memchr(b, '\n', (size_t)n))
			return 0;
	}
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } modes[] = {
		{ "bulk", bulk_main }, { "echo", echo_stdin_main }, { "dups", dups_main },
		{ "nonblock", nonblock_main }, { "pollin", pollin_main },
	};
	for (unsigned i = 0; argc > 1 && i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].fn(argc - 1, argv + 1);
	return 2;
}
