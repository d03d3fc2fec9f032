/* Every vector and message call, with counts and sizes on both sides of
 * the arena unit (128 KiB) and of the iovec count, on a regular file, a
 * pipe, a stream socket pair and UDP: prints one transcript line per case
 * (results and an FNV-1a digest of every byte moved). The same source built
 * natively is the oracle (tests/async/test_marshal_native.py); the
 * transcript holds nothing that may legitimately differ between runs (how
 * a pipe read happens to be cut, descriptor numbers, addresses). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

/* musl has no wrappers for these (yet): the raw calls, as glibc makes them */
static long preadv2_(int fd, const struct iovec *v, int c, off_t off, int flags)
{
	return syscall(SYS_preadv2, fd, v, c, (long)off, (long)((unsigned long long)off >> 32), flags);
}

static long pwritev2_(int fd, const struct iovec *v, int c, off_t off, int flags)
{
	return syscall(SYS_pwritev2, fd, v, c, (long)off, (long)((unsigned long long)off >> 32), flags);
}

static uint64_t fnv(const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
	return h;
}

/* Data that differs at every 4 KiB and never repeats at 128 KiB. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131u + seed * 7u + (i >> 12) * 13u + (i >> 17));
}

static unsigned char *big(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	if (!p) {
		perror("malloc");
		exit(2);
	}
	fill(p, n, seed);
	return p;
}

static void line(const char *name, long ret, const void *p, size_t n)
{
	printf("%-28s ret %-8ld errno %-3d digest %016llx\n", name, ret, ret < 0 ? errno : 0,
	       (unsigned long long)(p ? fnv(p, n) : 0));
}

/* iovecs of the given sizes over one buffer */
static int cut(struct iovec *v, unsigned char *buf, const size_t *sizes, int n)
{
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		v[i].iov_base = buf + at;
		v[i].iov_len = sizes[i];
		at += sizes[i];
	}
	return n;
}

static size_t sum(const struct iovec *v, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += v[i].iov_len;
	return t;
}

static void file_cases(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	unsigned char *w = big(3 * MiB, 1), *r = malloc(3 * MiB);
	struct iovec v[1024];

	/* plain calls: 0, 1, the unit, a unit + 1, 1 MiB */
	const size_t sizes[] = { 0, 1, 128 * KiB - 1, 128 * KiB, 128 * KiB + 1, MiB };
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char name[64];
		ftruncate(fd, 0);
		lseek(fd, 0, SEEK_SET);
		snprintf(name, sizeof name, "write %zu", sizes[i]);
		line(name, write(fd, w, sizes[i]), 0, 0);
		lseek(fd, 0, SEEK_SET);
		memset(r, 0, sizes[i] + 1);
		snprintf(name, sizeof name, "read %zu", sizes[i]);
		long n = read(fd, r, sizes[i] + 1);
		line(name, n, r, n > 0 ? (size_t)n : 0);
	}
	ftruncate(fd, 0);
	line("pwrite 1M at 100000", pwrite(fd, w, MiB, 100000), 0, 0);
	long n = pread(fd, r, 2 * MiB, 50000);
	line("pread 2M at 50000 (eof)", n, r, n > 0 ? (size_t)n : 0);
	struct stat st;
	fstat(fd, &st);
	line("size", (long)st.st_size, 0, 0);

	/* vectors: few large, many small, many past the unit */
	ftruncate(fd, 0);
	lseek(fd, 0, SEEK_SET);
	const size_t three[] = { 100 * KiB, 200 * KiB, 5 };
	int c = cut(v, w, three, 3);
	line("writev 3 (300K)", writev(fd, v, c), 0, 0);
	for (int i = 0; i < 1024; i++)
		v[i] = (struct iovec){ w + 300 * KiB + 5 + i * 200u, 200 };
	line("writev 1024x200", writev(fd, v, 1024), 0, 0);
	lseek(fd, 0, SEEK_SET);
	memset(r, 0, 3 * MiB);
	const size_t rsz[] = { 7, 130 * KiB, 1, 64 * KiB, 400 * KiB };
	c = cut(v, r, rsz, 5);
	n = readv(fd, v, c);
	line("readv 5 (594K, eof)", n, r, sum(v, c));
	for (int i = 0; i < 1024; i++)
		v[i] = (struct iovec){ r + i * 300u, 300 };
	memset(r, 0, 3 * MiB);
	n = preadv(fd, v, 1024, 1000);
	line("preadv 1024x300 at 1000", n, r, 1024 * 300);
	const size_t psz[] = { 200 * KiB, 0, 300 * KiB };
	c = cut(v, w + 7, psz, 3);
	line("pwritev 500K at 3M-17", pwritev(fd, v, c, 3 * MiB - 17), 0, 0);
	c = cut(v, w + 11, psz, 3);
	line("pwritev2 500K at 12345", pwritev2_(fd, v, c, 12345, 0), 0, 0);
	lseek(fd, 777, SEEK_SET);
	c = cut(v, w + 13, psz, 3);
	line("pwritev2 500K at -1", pwritev2_(fd, v, c, -1, 0), 0, 0);
	line("lseek after", lseek(fd, 0, SEEK_CUR), 0, 0);
	memset(r, 0, 3 * MiB);
	c = cut(v, r, psz, 3);
	n = preadv2_(fd, v, c, 3 * MiB - 100000, 0);
	line("preadv2 500K near eof", n, r, 500 * KiB);
	lseek(fd, 5000, SEEK_SET);
	memset(r, 0, 3 * MiB);
	n = preadv2_(fd, v, c, -1, 0);
	line("preadv2 500K at -1", n, r, 500 * KiB);
	line("lseek after", lseek(fd, 0, SEEK_CUR), 0, 0);
	/* the whole file once more, in one read */
	fstat(fd, &st);
	line("size", (long)st.st_size, 0, 0);
	unsigned char *all = calloc(1, 4 * MiB);
	n = pread(fd, all, 4 * MiB, 0);
	line("pread whole", n, all, n > 0 ? (size_t)n : 0);
	free(all);
	close(fd);
	unlink(path);
	free(w);
	free(r);
}

/* A reader on the other end of a pipe or stream socket: reads until n
 * bytes (or EOF) with the given call, reports the digest. */
struct drain {
	int fd, how;
	size_t n;
	unsigned char *buf;
	size_t got;
};

static void *drain(void *p)
{
	struct drain *d = p;
	while (d->got < d->n) {
		long r;
		if (d->how == 1) {
			r = recv(d->fd, d->buf + d->got, d->n - d->got, MSG_WAITALL);
		} else if (d->how == 2) {
			/* readv in three pieces of the rest */
			size_t left = d->n - d->got, a = left / 3, b = left / 3;
			struct iovec v[3] = { { d->buf + d->got, a }, { d->buf + d->got + a, b },
					      { d->buf + d->got + a + b, left - a - b } };
			r = readv(d->fd, v, 3);
		} else {
			r = read(d->fd, d->buf + d->got, d->n - d->got);
		}
		if (r <= 0)
			break;
		d->got += (size_t)r;
	}
	return 0;
}

static void stream_case(const char *name, int rfd, int wfd, int how, int wcall, size_t n)
{
	unsigned char *w = big(n, 3 + how + wcall), *r = calloc(1, n);
	struct drain d = { rfd, how, n, r, 0 };
	pthread_t t;
	pthread_create(&t, 0, drain, &d);
	long ret;
	struct iovec v[64];
	if (wcall == 0) {
		ret = write(wfd, w, n);
	} else if (wcall == 1) {
		for (int i = 0; i < 64; i++)
			v[i] = (struct iovec){ w + i * (n / 64), n / 64 };
		v[63].iov_len = n - 63 * (n / 64);
		ret = writev(wfd, v, 64);
	} else if (wcall == 2) {
		ret = send(wfd, w, n, 0);
	} else {
		v[0] = (struct iovec){ w, n / 2 };
		v[1] = (struct iovec){ w + n / 2, n - n / 2 };
		struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
		ret = sendmsg(wfd, &m, 0);
	}
	pthread_join(t, 0);
	char full[96];
	snprintf(full, sizeof full, "%s sent", name);
	line(full, ret, w, n);
	snprintf(full, sizeof full, "%s got", name);
	line(full, (long)d.got, r, d.got);
	free(w);
	free(r);
}

struct sendarg {
	int fd;
	struct msghdr *m;
	long ret;
};

static void *send_it(void *p)
{
	struct sendarg *a = p;
	a->ret = sendmsg(a->fd, a->m, 0);
	return 0;
}

static void pipe_and_stream_cases(void)
{
	int p[2], s[2];
	pipe(p);
	stream_case("pipe write 1M", p[0], p[1], 0, 0, MiB);
	stream_case("pipe writev 64 (1M)", p[0], p[1], 2, 1, MiB);
	stream_case("pipe write 200K", p[0], p[1], 0, 0, 200 * KiB);
	close(p[0]);
	close(p[1]);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	stream_case("unix send 1M", s[1], s[0], 1, 2, MiB);
	stream_case("unix write 1M", s[1], s[0], 0, 0, MiB);
	stream_case("unix sendmsg 2 (1M)", s[1], s[0], 1, 3, MiB);
	stream_case("unix writev 64 (300K)", s[1], s[0], 2, 1, 300 * KiB);

	/* one big recvmsg with MSG_WAITALL, SCM_RIGHTS passed along */
	unsigned char *w = big(300 * KiB, 9), *r = calloc(1, 300 * KiB);
	int pass = open("/", O_RDONLY | O_DIRECTORY);
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl = { 0 }, rctl = { 0 };
	ctl.h.cmsg_level = SOL_SOCKET;
	ctl.h.cmsg_type = SCM_RIGHTS;
	ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl.h), &pass, sizeof pass);
	struct iovec v = { w, 300 * KiB };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
	/* 300 KiB does not fit the socket buffer: the sender needs a reader */
	struct sendarg sa = { s[0], &m, 0 };
	pthread_t t;
	pthread_create(&t, 0, send_it, &sa);
	struct iovec rv[3] = { { r, 1000 }, { r + 1000, 150 * KiB }, { r + 1000 + 150 * KiB, 150 * KiB - 1000 } };
	struct msghdr rm = { .msg_iov = rv, .msg_iovlen = 3, .msg_control = rctl.b, .msg_controllen = sizeof rctl.b };
	/* Linux stops a WAITALL read at the message that carries descriptors:
	 * how much came is the kernel's business; the rest follows by read. */
	long n = recvmsg(s[1], &rm, MSG_WAITALL);
	size_t got_bytes = n > 0 ? (size_t)n : 0;
	while (n > 0 && got_bytes < 300 * KiB) {
		long k = read(s[1], r + got_bytes, 300 * KiB - got_bytes);
		if (k <= 0)
			break;
		got_bytes += (size_t)k;
	}
	pthread_join(t, 0);
	line("unix sendmsg SCM_RIGHTS", sa.ret, w, 300 * KiB);
	line("unix recvmsg + read", (long)got_bytes, r, 300 * KiB);
	int got = -1;
	struct cmsghdr *ch = CMSG_FIRSTHDR(&rm);
	if (ch && ch->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(ch), sizeof got);
	struct stat a, b;
	fstat(pass, &a);
	int same = got >= 0 && !fstat(got, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	printf("%-28s controllen %zu level %d type %d same-file %d flags %d\n", "unix SCM_RIGHTS received",
	       (size_t)rm.msg_controllen, ch ? ch->cmsg_level : -1, ch ? ch->cmsg_type : -1, same, rm.msg_flags);
	close(got);
	close(pass);
	close(s[0]);
	close(s[1]);
	free(w);
	free(r);
}

static int udp(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int sz = 4 * MiB;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof *a;
	bind(s, (struct sockaddr *)a, sizeof *a);
	getsockname(s, (struct sockaddr *)a, &l);
	return s;
}

/* count datagrams of size sz: sendmmsg in batches of vs, recvmmsg in
 * batches of vr until all arrived; datagram k carries seed k. */
static void mmsg_case(int count, size_t sz, int vs, int vr)
{
	struct sockaddr_in ra, sa;
	int rx = udp(&ra), tx = udp(&sa);
	connect(tx, (struct sockaddr *)&ra, sizeof ra);
	unsigned char *w = malloc((size_t)count * sz), *r = calloc((size_t)count, sz);
	for (int k = 0; k < count; k++)
		fill(w + (size_t)k * sz, sz, 100 + (unsigned)k);
	struct mmsghdr *mm = calloc((size_t)count, sizeof *mm);
	struct iovec *v = calloc((size_t)count, sizeof *v);
	int sent = 0, calls = 0;
	while (sent < count) {
		int n = count - sent < vs ? count - sent : vs;
		for (int k = 0; k < n; k++) {
			v[sent + k] = (struct iovec){ w + (size_t)(sent + k) * sz, sz };
			mm[sent + k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[sent + k], .msg_iovlen = 1 } };
		}
		int r2 = sendmmsg(tx, mm + sent, (unsigned)n, 0);
		if (r2 <= 0)
			break;
		sent += r2;
		calls++;
	}
	int got = 0, wrong = 0, first = -1;
	struct sockaddr_in from[8];
	while (got < sent) {
		int n = sent - got < vr ? sent - got : vr;
		for (int k = 0; k < n; k++) {
			/* each message lands in its own slot, with a name */
			v[got + k] = (struct iovec){ r + (size_t)(got + k) * sz, sz };
			mm[got + k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[got + k], .msg_iovlen = 1,
				.msg_name = &from[k % 8], .msg_namelen = sizeof from[0] } };
		}
		int r2 = recvmmsg(rx, mm + got, (unsigned)n, 0, 0);
		if (r2 <= 0)
			break;
		if (first < 0)
			first = r2;
		for (int k = got; k < got + r2; k++)
			if (mm[k].msg_len != sz || mm[k].msg_hdr.msg_namelen != sizeof from[0] ||
			    memcmp(r + (size_t)k * sz, w + (size_t)k * sz, sz))
				wrong++;
		got += r2;
	}
	char name[64];
	snprintf(name, sizeof name, "mmsg %dx%zu vs %d vr %d", count, sz, vs, vr);
	printf("%-28s sent %d got %d wrong %d digest %016llx", name, sent, got, wrong,
	       (unsigned long long)fnv(r, (size_t)count * sz));
	/* the batch one call returns is deterministic only while it fits the arena */
	if ((size_t)vr * sz <= 64 * KiB)
		printf(" first %d", first);
	printf("\n");
	close(rx);
	close(tx);
	free(w);
	free(r);
	free(mm);
	free(v);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	file_cases(argc > 1 ? argv[1] : "vecio.tmp");
	pipe_and_stream_cases();
	mmsg_case(3, 20, 3, 3);
	mmsg_case(3, 20, 1, 3);
	mmsg_case(200, 1000, 200, 200);
	mmsg_case(200, 1000, 7, 50);
	mmsg_case(40, 9000, 40, 40);
	mmsg_case(5, 60000, 5, 5);
	return 0;
}
