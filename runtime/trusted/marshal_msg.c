/*
 * Marshalling of the nested arguments (marshal.h): iovec arrays, msghdr
 * with name and control data, mmsghdr arrays, SysV msgbuf and pselect6's
 * sigmask pair. Each function serves both phases: SCONE_M_OUT lays the
 * argument out in the arena; SCONE_M_BACK replays the same layout from the
 * caller's (trusted) structures and copies back what the host returned,
 * after checking every length it read from the arena.
 */
#include "internal.h"
#include "marshal.h"

#define ENOMEM 12
#define EINVAL 22
#define EMSGSIZE 90
#define ENOBUFS 105

struct kiov {
	uint64_t base, len;
};

/* The kernel's struct msghdr (musl hands the kernel this layout too). */
struct kmsg {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen;
	uint64_t control, controllen;
	int32_t flags;
	uint32_t pad1;
};

struct kmmsg {
	struct kmsg hdr;
	uint32_t len, pad;
};

_Static_assert(sizeof(struct kmsg) == 56, "msghdr ABI");
_Static_assert(sizeof(struct kmmsg) == 64, "mmsghdr ABI");

/* OUT: lay the buffers of app[0..cnt) out contiguously (clamped to the
 * arena: a short transfer is the calls' own semantics), copying them if
 * !out. Returns the data bytes laid out. */
static uint64_t iov_lay(struct scone_marshal *m, const struct kiov *app, struct kiov *h,
			unsigned long cnt, int out)
{
	uint64_t t = 0;
	for (unsigned long j = 0; j < cnt; j++) {
		uint64_t len = app[j].len, base = app[j].base;
		size_t room = __scone_m_room(m, 1);
		if (len > room) {
			len = room;
			m->clamped = 1;
		}
		char *p = __scone_m_take(m, len, 1);
		if (!out && len)
			__scone_memcpy(p, (const void *)base, len);
		h[j].base = (uint64_t)p;
		h[j].len = len;
		t += len;
	}
	return t;
}

/* BACK: the n bytes the host returned, in order, into the caller's buffers. */
static void iov_scatter(const struct kiov *app, unsigned long cnt, const char *data, uint64_t n)
{
	for (unsigned long j = 0; j < cnt && n; j++) {
		uint64_t l = app[j].len < n ? app[j].len : n;
		if (l)
			__scone_memcpy((void *)app[j].base, data, l);
		data += l;
		n -= l;
	}
}

long __scone_m_iov(struct scone_marshal *m, int i, int out)
{
	unsigned long cnt = (unsigned long)m->host[m->d->args[i].size_arg];
	const struct kiov *app = (const struct kiov *)m->app[i];
	if (cnt > SCONE_IOV_MAX)
		return -EINVAL;
	if (!app || !cnt)
		return 0;
	struct kiov *h = (struct kiov *)__scone_m_take(m, cnt * sizeof *h, 16);
	if (!h)
		return -ENOMEM;
	if (m->phase == SCONE_M_OUT) {
		m->host[i] = (long)h;
		m->total[i] = iov_lay(m, app, h, cnt, out);
	} else if (out && m->ret > 0) {
		iov_scatter(app, cnt, m->arena + m->used, (uint64_t)m->ret);
	}
	return 0;
}

/*
 * One msghdr: app in enclave memory, h its host copy. OUT builds h and
 * returns 0 or -errno, with the data bytes in *total. BACK (recvmsg-like
 * when out) copies back name, control data and `bytes` of data, after
 * checking the lengths the host wrote into h.
 */
static long msg_one(struct scone_marshal *m, struct kmsg *app, struct kmsg *h, int out,
		    uint64_t bytes, uint64_t *total)
{
	struct kmsg a;
	__scone_memcpy(&a, app, sizeof a);
	uint64_t nlen = a.name ? a.namelen : 0, clen = a.control ? a.controllen : 0;
	if (a.iovlen > SCONE_IOV_MAX)
		return -EMSGSIZE;
	if (nlen > 65536)
		return -EINVAL;
	if (clen > (1u << 20))
		return -ENOBUFS;
	char *name = __scone_m_take(m, nlen, 16);
	char *ctl = __scone_m_take(m, clen, 16);
	struct kiov *iov = (struct kiov *)__scone_m_take(m, a.iovlen * sizeof *iov, 16);
	if (!name || !ctl || !iov)
		return -ENOMEM;
	const struct kiov *aiov = (const struct kiov *)a.iov;
	if (m->phase == SCONE_M_OUT) {
		if (!out && nlen)
			__scone_memcpy(name, (const void *)a.name, nlen);
		if (!out && clen)
			__scone_memcpy(ctl, (const void *)a.control, clen);
		*total = a.iovlen && aiov ? iov_lay(m, aiov, iov, a.iovlen, out) : 0;
		struct kmsg hm = {
			.name = nlen ? (uint64_t)name : 0, .namelen = (uint32_t)nlen,
			.iov = aiov ? (uint64_t)iov : 0, .iovlen = a.iovlen,
			.control = clen ? (uint64_t)ctl : 0, .controllen = clen,
			.flags = out ? 0 : a.flags,
		};
		__scone_memcpy(h, &hm, sizeof hm);
		return 0;
	}
	if (!out)
		return 0;
	/* Read once what the host wrote, check, then use only the copies. */
	struct kmsg got;
	__scone_memcpy(&got, h, sizeof got);
	if (got.controllen > clen)
		__scone_m_broken(m, "msg_controllen", got.controllen, clen);
	if (got.namelen > nlen && got.namelen > SCONE_SOCKADDR_MAX)
		__scone_m_broken(m, "msg_namelen", got.namelen, nlen > SCONE_SOCKADDR_MAX ? nlen : SCONE_SOCKADDR_MAX);
	if (nlen && got.namelen)
		__scone_memcpy((void *)a.name, name, got.namelen < nlen ? got.namelen : nlen);
	if (got.controllen)
		__scone_memcpy((void *)a.control, ctl, got.controllen);
	if (aiov)
		iov_scatter(aiov, a.iovlen, m->arena + m->used, bytes);
	app->namelen = got.namelen;
	app->controllen = got.controllen;
	app->flags = got.flags;
	return 0;
}

long __scone_m_msg(struct scone_marshal *m, int i, int out)
{
	struct kmsg *app = (struct kmsg *)m->app[i];
	if (!app)
		return 0;
	struct kmsg *h = (struct kmsg *)__scone_m_take(m, sizeof *h, 16);
	if (!h)
		return -ENOMEM;
	if (m->phase == SCONE_M_OUT) {
		m->host[i] = (long)h;
		return msg_one(m, app, h, out, 0, &m->total[i]);
	}
	uint64_t unused;
	return msg_one(m, app, h, out, m->ret > 0 ? (uint64_t)m->ret : 0, &unused);
}

long __scone_m_mmsg(struct scone_marshal *m, int i, int out)
{
	int ci = m->d->args[i].size_arg;
	struct kmmsg *app = (struct kmmsg *)m->app[i];
	unsigned long vlen = (unsigned long)m->host[ci];
	if (m->phase == SCONE_M_OUT && vlen > SCONE_IOV_MAX)
		m->host[ci] = (long)(vlen = SCONE_IOV_MAX);   /* the kernel's own cap */
	if (!app || !vlen)
		return 0;
	/* BACK takes the headers OUT took, before vlen was cut (m->len). */
	size_t hbytes = m->phase == SCONE_M_OUT ? vlen * sizeof(struct kmmsg) : m->len[i];
	struct kmmsg *h = (struct kmmsg *)__scone_m_take(m, hbytes, 16);
	if (!h)
		return -ENOMEM;
	if (m->phase == SCONE_M_OUT) {
		m->host[i] = (long)h;
		m->len[i] = hbytes;
		for (unsigned long j = 0; j < vlen; j++) {
			uint64_t t;
			m->clamped = 0;
			long r = msg_one(m, &app[j].hdr, &h[j].hdr, out, 0, &t);
			/* A message that does not fit whole waits for the next call
			 * (a datagram cut to the arena would lose its tail). */
			if ((r == -ENOMEM || (!r && m->clamped)) && j) {
				m->host[ci] = (long)j;    /* fewer messages per call */
				return 0;
			}
			if (r)
				return r;
			h[j].len = 0;
		}
		return 0;
	}
	unsigned long done = m->ret > 0 ? (unsigned long)m->ret : 0;
	for (unsigned long j = 0; j < done; j++) {
		/* replay message j's layout, then check its length against it */
		size_t at = m->used;
		uint64_t t;
		m->phase = SCONE_M_OUT;
		struct kmsg scratch;
		long r = msg_one(m, &app[j].hdr, &scratch, 1, 0, &t);
		m->phase = SCONE_M_BACK;
		if (r)
			__scone_m_broken(m, "message layout changed, message", j, vlen);
		size_t next = m->used;        /* message j+1 starts past j's data */
		m->used = at;
		uint32_t len = *(volatile uint32_t *)&h[j].len;
		if (len > t)
			__scone_m_broken(m, "msg_len", len, t);
		msg_one(m, &app[j].hdr, &h[j].hdr, out, len, &t);
		app[j].len = len;
		m->used = next;
	}
	return 0;
}

long __scone_m_msgbuf(struct scone_marshal *m, int i, int out)
{
	int ci = m->d->args[i].size_arg;
	unsigned long sz = (unsigned long)m->host[ci];
	if (!m->app[i])
		return 0;
	if (m->phase == SCONE_M_OUT) {
		size_t room = __scone_m_room(m, 16);
		if (room < 8)
			return -ENOMEM;
		if (sz > room - 8) {
			if (!out)
				return -ENOMEM;
			m->host[ci] = (long)(sz = room - 8);
		}
		char *p = __scone_m_take(m, 8 + sz, 16);
		if (!out)
			__scone_memcpy(p, (const void *)m->app[i], 8 + sz);
		m->host[i] = (long)p;
		m->len[i] = 8 + sz;
		return 0;
	}
	if (out && m->ret >= 0) {
		if ((unsigned long)m->ret > sz)
			__scone_m_broken(m, "message text bytes", (unsigned long)m->ret, sz);
		__scone_memcpy((void *)m->app[i], (const void *)m->host[i], 8 + (size_t)m->ret);
	}
	return 0;
}

long __scone_m_sigmask6(struct scone_marshal *m, int i)
{
	const uint64_t *app = (const uint64_t *)m->app[i];
	if (!app)
		return 0;
	uint64_t ss = app[0], len = app[1];
	if (len > 128)
		return -EINVAL;
	uint64_t *h = (uint64_t *)__scone_m_take(m, 16, 16);
	char *set = ss ? __scone_m_take(m, len, 8) : 0;
	if (!h || (ss && !set))
		return -ENOMEM;
	if (set)
		__scone_memcpy(set, (const void *)ss, len);
	h[0] = (uint64_t)set;
	h[1] = len;
	m->host[i] = (long)h;
	return 0;
}
