/*
 * Transfers larger than an arena unit (queue_abi.h). The marshaller cuts a
 * read, write or send to the unit it copies through; Linux would not stop
 * there on a regular file (short only at end of file, out of space or on a
 * signal), nor on a blocking write to a pipe, stream socket or terminal, nor
 * on a stream recv with MSG_WAITALL. For those, the client asks for the
 * rest, chunk by chunk, and returns the whole count, or the progress made
 * when a chunk comes back short, fails, or a signal interrupts the caller.
 * A read of a pipe, socket or terminal returns what is there, as Linux
 * may; so does any call on a non-blocking descriptor.
 *
 * Only calls whose first chunk filled the unit get here (client.c): the
 * descriptor's type costs an fstat then, never on the small-call path.
 */
#include "../sched/scone_sched.h"
#include "client.h"

#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define S_IFSOCK 0140000
#define O_NONBLOCK 04000
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL 0x100
#define SOCK_STREAM 1
#define ST_MODE 24         /* offset of st_mode in the x86-64 struct stat */

enum { NR_read = 0, NR_write = 1, NR_fstat = 5, NR_pread64 = 17, NR_pwrite64 = 18,
       NR_readv = 19, NR_writev = 20, NR_sendto = 44, NR_recvfrom = 45, NR_sendmsg = 46,
       NR_recvmsg = 47, NR_getsockopt = 55, NR_fcntl = 72, NR_preadv = 295,
       NR_pwritev = 296, NR_preadv2 = 327, NR_pwritev2 = 328 };

struct kiov {
	uint64_t base, len;
};

struct kmsg {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen;
	uint64_t control, controllen;
	int32_t flags;
	uint32_t pad1;
};

/* What a call is, for chunking: the scalar call that moves one buffer, and
 * where its position and flags sit. */
struct big {
	int write;          /* data leaves the enclave */
	int vec;            /* 1: iovec array at args[1], count args[2]; 2: msghdr at args[1] */
	long scalar;        /* the one-buffer call for a partly done iovec */
	int pos;            /* argument index of the file position, or -1 */
	int sock;           /* send/recv: flags at args[3] (scalar) or args[2] (msg) */
};

static int describe(long nr, const long a[6], struct big *b)
{
	*b = (struct big){ .pos = -1 };
	switch (nr) {
	case NR_read: b->scalar = NR_read; return 1;
	case NR_write: b->write = 1, b->scalar = NR_write; return 1;
	case NR_pread64: b->scalar = NR_pread64, b->pos = 3; return 1;
	case NR_pwrite64: b->write = 1, b->scalar = NR_pwrite64, b->pos = 3; return 1;
	case NR_readv: b->vec = 1, b->scalar = NR_read; return 1;
	case NR_writev: b->write = b->vec = 1, b->scalar = NR_write; return 1;
	case NR_preadv: b->vec = 1, b->scalar = NR_pread64, b->pos = 3; return 1;
	case NR_pwritev: b->write = b->vec = 1, b->scalar = NR_pwrite64, b->pos = 3; return 1;
	case NR_preadv2:
	case NR_pwritev2:
		if (a[5])                       /* RWF_NOWAIT and friends: one chunk */
			return 0;
		b->write = nr == NR_pwritev2, b->vec = 1;
		if (a[3] == -1)                 /* the current position */
			b->scalar = b->write ? NR_write : NR_read;
		else
			b->scalar = b->write ? NR_pwrite64 : NR_pread64, b->pos = 3;
		return 1;
	case NR_sendto: b->write = b->sock = 1, b->scalar = NR_sendto; return !(a[3] & MSG_DONTWAIT);
	case NR_recvfrom: b->sock = 1, b->scalar = NR_recvfrom;
		return (a[3] & (MSG_WAITALL | MSG_DONTWAIT)) == MSG_WAITALL;
	case NR_sendmsg: b->write = b->sock = 1, b->vec = 2, b->scalar = NR_sendto; return !(a[2] & MSG_DONTWAIT);
	case NR_recvmsg: b->sock = 1, b->vec = 2, b->scalar = NR_recvfrom;
		return (a[2] & (MSG_WAITALL | MSG_DONTWAIT)) == MSG_WAITALL;
	}
	return 0;
}

/* Would Linux have finished the transfer on this descriptor? */
static int linux_completes(long fd, const struct big *b)
{
	uint64_t st[144 / 8];
	uint32_t mode;
	long a[6] = { fd, (long)st };
	if (__scone_external(NR_fstat, a))
		return 0;
	__scone_memcpy(&mode, (char *)st + ST_MODE, sizeof mode);
	mode &= S_IFMT;
	if (!b->sock && (mode == S_IFREG || mode == S_IFBLK))
		return 1;
	if (!b->write && !b->sock)
		return 0;                       /* a read of a pipe or tty: what is there */
	long f[6] = { fd, 3 /* F_GETFL */ };
	long fl = __scone_external(NR_fcntl, f);
	if (fl < 0 || (fl & O_NONBLOCK))
		return 0;
	if (mode == S_IFSOCK) {
		int type = 0;
		uint32_t len = sizeof type;
		long g[6] = { fd, 1 /* SOL_SOCKET */, 3 /* SO_TYPE */, (long)&type, (long)&len };
		return !__scone_external(NR_getsockopt, g) && len == sizeof type && type == SOCK_STREAM;
	}
	return !b->sock && (mode == S_IFIFO || mode == S_IFCHR);
}

/* One step of `want` bytes; returns the count, and whether it filled its chunk. */
static long step(long nr, const long a[6], uint64_t want, int *more)
{
	uint64_t laid;
	long r = __scone_call_once(nr, &scone_sys_desc[nr], a, &laid);
	*more = r > 0 && ((laid && (uint64_t)r == laid) || (uint64_t)r == want);
	return r;
}

long __scone_chunk_rest(long nr, const long a[6], long done)
{
	struct big b;
	if (!describe(nr, a, &b) || !linux_completes(a[0], &b))
		return done;
	const struct kiov *iov = 0;
	uint64_t cnt = 1, total;
	struct kiov one;
	if (b.vec == 2) {
		struct kmsg h;
		__scone_memcpy(&h, (const void *)a[1], sizeof h);
		iov = (const struct kiov *)h.iov, cnt = h.iovlen;
	} else if (b.vec) {
		iov = (const struct kiov *)a[1], cnt = (uint64_t)a[2];
	} else {
		one = (struct kiov){ (uint64_t)a[1], (uint64_t)a[2] };
		iov = &one;
	}
	total = 0;
	for (uint64_t k = 0; k < cnt; k++)
		total += iov[k].len;           /* the marshaller bounded cnt and each step */
	uint32_t intr = __scone_sched_sigintr();
	uint64_t k = 0, off = (uint64_t)done;
	while ((uint64_t)done < total) {
		while (k < cnt && off >= iov[k].len)
			off -= iov[k++].len;
		if (k == cnt || __scone_sched_sigintr() != intr)
			break;                  /* a signal: the progress made */
		long s[6] = { a[0], 0, 0, a[3], a[4], a[5] };
		uint64_t want;
		long call = b.scalar;
		struct kmsg h;
		if (off || !b.vec) {
			/* the rest of one buffer */
			s[1] = (long)(iov[k].base + off), s[2] = (long)(want = iov[k].len - off);
			if (b.sock)
				s[3] = b.vec == 2 ? a[2] : a[3], s[4] = s[5] = 0;
		} else if (b.vec == 1) {
			call = nr, s[1] = (long)(iov + k), s[2] = (long)(cnt - k), want = total - (uint64_t)done;
		} else {
			/* the rest of a message: its iovecs only (name and control went first) */
			h = (struct kmsg){ .iov = (uint64_t)(iov + k), .iovlen = cnt - k };
			call = nr, s[1] = (long)&h, s[2] = a[2], want = total - (uint64_t)done;
		}
		if (b.pos >= 0) {
			s[b.pos] = a[b.pos] + done;
			if (b.vec == 1 && b.pos == 3 && call == nr)
				s[4] = (long)((uint64_t)s[3] >> 32);   /* pos_h, which x86-64 ignores */
		}
		int more;
		long r = step(call, s, want, &more);
		if (r <= 0)
			break;                  /* an error or end of file after progress */
		done += r;
		off += (uint64_t)r;
		if (!more)
			break;                  /* short: Linux would have stopped here too */
	}
	return done;
}
