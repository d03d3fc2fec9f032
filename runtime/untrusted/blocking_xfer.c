/*
 * Non-blocking attempts (blocking_xfer.h). Per call, one flag makes the
 * attempt non-blocking without touching the descriptor's own flags (which
 * the program may read or change meanwhile): MSG_DONTWAIT for the recv and
 * send families, RWF_NOWAIT (preadv2/pwritev2 at the current position) for
 * read, readv, write and writev.
 *
 * accept has no such flag, and RWF_NOWAIT is refused (EOPNOTSUPP) by
 * descriptors such as terminals. Those run blocking, but only after poll
 * says ready and under a lock per open file (keyed by device and inode, so
 * dup'ed descriptors share it) held over the look and the call: every such
 * call of this process on that file takes the same lock, so none of our
 * sthreads can take the connection or the bytes between the look and the
 * call. Only another process sharing the file could, which fork being
 * refused leaves to inherited descriptors (a terminal shared with a shell).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <fcntl.h>

#include "blocking_xfer.h"
#include "hostcall.h"

#define SYS_PREADV2 327
#define SYS_PWRITEV2 328
#define RWF_NOWAIT_ 8
#define LOCKS 64

short scone_xfer_events(int64_t nr)
{
	switch (nr) {
	case 0: case 19: case 43: case 45: case 47: case 288: case 299:
		return POLLIN;   /* read, readv, accept, recvfrom, recvmsg, accept4, recvmmsg */
	case 1: case 20: case 44: case 46: case 307:
		return POLLOUT;  /* write, writev, sendto, sendmsg, sendmmsg */
	default:
		return 0;
	}
}

static long raw(int64_t nr, int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5)
{
	struct scone_ocall o = { .nr = nr, .args = { a0, a1, a2, a3, a4, a5 } };
	return scone_hostcall(&o);
}

/* The call's own flags argument (recv/send families), or -1. */
static int flags_arg(int64_t nr)
{
	switch (nr) {
	case 44: case 45: case 299: case 307: return 3;
	case 46: case 47: return 2;
	default: return -1;
	}
}

/* The program asked for no waiting: MSG_DONTWAIT, or an O_NONBLOCK
 * descriptor. A descriptor fcntl rejects counts too: the call itself then
 * reports the error. */
static int program_nowait(const struct scone_request *r)
{
	int f = flags_arg(r->nr);
	if (f >= 0 && (r->args[f] & MSG_DONTWAIT))
		return 1;
	int fl = fcntl((int)r->args[0], F_GETFL);
	return fl < 0 || (fl & O_NONBLOCK);
}

static int64_t iov_bytes(const struct iovec *v, int64_t n)
{
	int64_t t = 0;
	for (int64_t i = 0; i < n; i++)
		t += (int64_t)v[i].iov_len;
	return t;
}

/* v without its first skip bytes: v itself if skip is 0, else a copy to
 * free (NULL if out of memory). */
static struct iovec *trim(const struct iovec *v, int64_t n, int64_t skip, int64_t *outn)
{
	*outn = n;
	if (!skip)
		return (struct iovec *)v;
	int64_t i = 0;
	while (i < n && (int64_t)v[i].iov_len <= skip)
		skip -= (int64_t)v[i++].iov_len;
	struct iovec *c = malloc((size_t)(n - i + 1) * sizeof *c);
	if (!c)
		return NULL;
	memcpy(c, v + i, (size_t)(n - i) * sizeof *c);
	if (i < n) {
		c[0].iov_base = (char *)c[0].iov_base + skip;
		c[0].iov_len -= (size_t)skip;
	}
	*outn = n - i;
	return c;
}

/*
 * What is left of r after done, non-blocking (nowait) or as the program
 * asked; *total is what "everything" means for a write-like call (bytes,
 * or messages for the mmsg calls), 0 for one whose first result is final.
 */
static long call(const struct scone_request *r, int64_t done, int nowait, int64_t *total)
{
	const int64_t *a = r->args;
	int64_t rwf = nowait ? RWF_NOWAIT_ : 0, dw = nowait ? MSG_DONTWAIT : 0;
	*total = 0;
	switch (r->nr) {
	case 0: {
		struct iovec v = { (void *)(uintptr_t)a[1], (size_t)a[2] };
		return raw(SYS_PREADV2, a[0], (int64_t)(uintptr_t)&v, 1, -1, 0, rwf);
	}
	case 19:
		return raw(SYS_PREADV2, a[0], a[1], a[2], -1, 0, rwf);
	case 43: case 288:
		return raw(r->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	case 45: case 47:
		return raw(r->nr, a[0], a[1], a[2] | (r->nr == 47 ? dw : 0), a[3] | (r->nr == 45 ? dw : 0), a[4], a[5]);
	case 299:
		*total = a[2];
		return raw(299, a[0], a[1] + done * (int64_t)sizeof(struct mmsghdr), a[2] - done, a[3] | dw, 0, 0);
	case 307:
		*total = a[2];
		return raw(307, a[0], a[1] + done * (int64_t)sizeof(struct mmsghdr), a[2] - done, a[3] | dw, 0, 0);
	case 1: {
		*total = a[2];
		struct iovec v = { (char *)(uintptr_t)a[1] + done, (size_t)(a[2] - done) };
		return raw(SYS_PWRITEV2, a[0], (int64_t)(uintptr_t)&v, 1, -1, 0, rwf);
	}
	case 44:
		*total = a[2];
		return raw(44, a[0], a[1] + done, a[2] - done, a[3] | dw, a[4], a[5]);
	case 20: case 46: {
		struct msghdr m = { 0 };
		const struct iovec *v = (const struct iovec *)(uintptr_t)a[1];
		int64_t n = a[2];
		if (r->nr == 46) {
			memcpy(&m, (const void *)(uintptr_t)a[1], sizeof m);
			v = m.msg_iov;
			n = (int64_t)m.msg_iovlen;
		}
		*total = iov_bytes(v, n);
		int64_t left;
		struct iovec *t = trim(v, n, done, &left);
		if (!t)
			return -ENOMEM;
		long ret;
		if (r->nr == 20) {
			ret = raw(SYS_PWRITEV2, a[0], (int64_t)(uintptr_t)t, left, -1, 0, rwf);
		} else {
			m.msg_iov = t;
			m.msg_iovlen = (size_t)left;
			if (done)   /* ancillary data goes with the first bytes only */
				m.msg_control = NULL, m.msg_controllen = 0;
			ret = raw(46, a[0], (int64_t)(uintptr_t)&m, a[2] | dw, 0, 0, 0);
		}
		if (t != v)
			free(t);
		return ret;
	}
	default:
		return -ENOSYS;
	}
}

static int ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, 0) != 0;
}

static pthread_mutex_t locks[LOCKS] = { [0 ... LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER };

static pthread_mutex_t *file_lock(int fd)
{
	struct stat st;
	uint64_t key = fstat(fd, &st) ? (uint64_t)fd : (uint64_t)st.st_dev * 0x9e3779b97f4a7c15ull ^ (uint64_t)st.st_ino;
	return &locks[(key * 0x9e3779b97f4a7c15ull) >> 58];
}

/* The locked look-then-call (see the top): -EAGAIN if not ready. */
static long locked(const struct scone_request *r, int64_t done, int64_t *total)
{
	int fd = (int)r->args[0];
	pthread_mutex_t *l = file_lock(fd);
	pthread_mutex_lock(l);
	long v = ready(fd, scone_xfer_events(r->nr)) ? call(r, done, 0, total) : -EAGAIN;
	pthread_mutex_unlock(l);
	return v;
}

/* A file that is always "ready" (poll says so) yet may say EAGAIN to
 * RWF_NOWAIT while it reads from disk: waiting in poll would spin. */
static int never_waits(int fd)
{
	struct stat st;
	return !fstat(fd, &st) && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

int scone_xfer_attempt(const struct scone_request *r, int64_t *done, long *ret)
{
	int64_t total;
	int lock = r->nr == 43 || r->nr == 288;
	long v = lock ? locked(r, *done, &total) : call(r, *done, 1, &total);
	if (v == -EOPNOTSUPP && (r->nr == 0 || r->nr == 1 || r->nr == 19 || r->nr == 20)) {
		if (never_waits((int)r->args[0])) {
			*ret = scone_xfer_blocking(r, *done);
			return 1;
		}
		lock = 1;
		v = locked(r, *done, &total);
	}
	if (v == -EAGAIN) {
		/* First: O_NONBLOCK means nothing to a regular file, whose read
		 * waits for the disk natively (lighttpd opens its configuration
		 * O_NONBLOCK; RWF_NOWAIT said EAGAIN when it was not cached). */
		if (!lock && never_waits((int)r->args[0])) {
			v = call(r, *done, 0, &total);
			*ret = v >= 0 ? *done + v : *done ? *done : v;
			return 1;
		}
		if (program_nowait(r)) {
			/* As natively: one try. (A locked accept has not tried yet.) */
			if (lock && !*done)
				v = call(r, 0, 0, &total);
			*ret = *done ? *done : v;
			return 1;
		}
		return 0;
	}
	if (v < 0) {
		*ret = *done ? *done : v;
		return 1;
	}
	if (!total) {
		*ret = v;
		return 1;
	}
	*done += v;
	int more = *done < total && v > 0;
	if (r->nr == 299 && (r->args[3] & MSG_WAITFORONE))
		more = 0;
	/* A partial transfer on an O_NONBLOCK descriptor is final, as natively. */
	if (more && !program_nowait(r))
		return 0;
	*ret = *done;
	return 1;
}

long scone_xfer_blocking(const struct scone_request *r, int64_t done)
{
	int64_t total;
	long v = call(r, done, 0, &total);
	if (!total)
		return v;
	return v >= 0 ? done + v : done ? done : v;
}

int64_t scone_xfer_timeout(const struct scone_request *r)
{
	struct timeval tv;
	socklen_t n = sizeof tv;
	int opt = scone_xfer_events(r->nr) == POLLOUT ? SO_SNDTIMEO : SO_RCVTIMEO;
	if (getsockopt((int)r->args[0], SOL_SOCKET, opt, &tv, &n))
		return 0;
	return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}
