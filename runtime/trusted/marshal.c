/*
 * The table-driven marshaller (marshal.h): scalars, strings, plain in/out
 * buffers, socklen_t-bounded buffers, and the result check of every call.
 */
#include "internal.h"
#include "marshal.h"

#define EFAULT 14
#define ENOMEM 12
#define EINVAL 22
#define EINTR 4
#define ENAMETOOLONG 36

char *__scone_m_take(struct scone_marshal *m, size_t n, size_t align)
{
	size_t at = (m->used + align - 1) & ~(align - 1);
	if (at < m->used || at > m->cap || n > m->cap - at)
		return 0;
	m->used = at + n;
	__scone_hwm_arena_note(m->used);
	return m->arena + at;
}

size_t __scone_m_room(const struct scone_marshal *m, size_t align)
{
	size_t at = (m->used + align - 1) & ~(align - 1);
	return at < m->used || at > m->cap ? 0 : m->cap - at;
}

_Noreturn void __scone_m_broken(const struct scone_marshal *m, const char *what,
				unsigned long got, unsigned long limit)
{
	const char *n = scone_sys_name_of(m->nr);
	__scone_abortf("scone: the host broke the contract of system call %s (%ld): %s %lu, at most %lu allowed; aborting the enclave",
		       n ? n : "?", m->nr, what, got, limit);
}

static int is_errno(long r)
{
	return r < 0 && r >= -4095;
}

/* Does the result bound argument i's element count (read, epoll_wait, ...)? */
static int ret_counts(const struct scone_marshal *m, int i)
{
	const struct scone_sys_arg *a = &m->d->args[i];
	return (m->d->ret == SCONE_RET_SIZE || m->d->ret == SCONE_RET_SIZEQ) && a->size_arg != SCONE_SYS_NOARG &&
	       a->kind != SCONE_ARG_IOCTL && a->kind != SCONE_ARG_FCNTL && a->kind != SCONE_ARG_SEMUN &&
	       a->size_arg == m->d->ret_arg;
}

static long out_str(struct scone_marshal *m, int i, size_t max)
{
	const char *s = (const char *)m->app[i];
	if (!s)
		return 0;
	size_t n = 0;
	while (n < max && s[n])
		n++;
	if (n == max)
		return -ENAMETOOLONG;
	char *p = __scone_m_take(m, n + 1, 1);
	if (!p)
		return -ENAMETOOLONG;
	__scone_memcpy(p, s, n + 1);
	m->host[i] = (long)p;
	return 0;
}

/* Bytes of a plain buffer argument; clamps the count when the call may do less. */
static long buffer_len(struct scone_marshal *m, int i, unsigned kind, size_t elem, size_t *len)
{
	const struct scone_sys_arg *a = &m->d->args[i];
	/* ioctl/fcntl/semun: size_arg names the request, the size is decoded */
	int decoded = a->kind == SCONE_ARG_IOCTL || a->kind == SCONE_ARG_FCNTL || a->kind == SCONE_ARG_SEMUN;
	if (a->size_arg == SCONE_SYS_NOARG || kind == SCONE_ARG_OUT_LENPTR || decoded) {
		*len = elem;
		return 0;
	}
	unsigned long count = (unsigned long)m->host[a->size_arg];
	size_t room = __scone_m_room(m, 16);
	if (count > room / (elem ? elem : 1)) {
		if (!ret_counts(m, i) || kind == SCONE_ARG_INOUT)
			return count > (~0ul >> 1) / (elem ? elem : 1) ? -EINVAL : -ENOMEM;
		count = room / elem;
		m->host[a->size_arg] = (long)count;   /* the client finishes it where Linux would (chunk.c) */
		m->clamped = 1;
	}
	*len = count * elem;
	return 0;
}

static long out_buffer(struct scone_marshal *m, int i, unsigned kind, size_t elem)
{
	size_t len;
	if (kind == SCONE_ARG_OUT_LENPTR) {
		const struct scone_sys_arg *a = &m->d->args[i];
		const uint32_t *lp = (const uint32_t *)m->app[a->size_arg];
		elem = lp ? *lp : 0;
	}
	long r = buffer_len(m, i, kind, elem, &len);
	if (r)
		return r;
	if (!m->app[i])
		return 0;
	/* A buffer the program closed with mprotect: Linux's EFAULT, not a
	 * fault of the runtime's copy. */
	if (!__scone_mem_usable((uintptr_t)m->app[i], len, kind != SCONE_ARG_IN))
		return -EFAULT;
	char *p = __scone_m_take(m, len, 16);
	if (!p)
		return -ENOMEM;
	if (kind == SCONE_ARG_IN || kind == SCONE_ARG_INOUT)
		__scone_memcpy(p, (const void *)m->app[i], len);
	m->host[i] = (long)p;
	m->len[i] = len;
	return 0;
}

static long one(struct scone_marshal *m, int i, unsigned kind, unsigned size)
{
	switch (kind) {
	case SCONE_ARG_INT:
	case SCONE_ARG_FD:
		return 0;
	case SCONE_ARG_STR:
		return out_str(m, i, size);
	case SCONE_ARG_IN:
	case SCONE_ARG_OUT:
	case SCONE_ARG_INOUT:
	case SCONE_ARG_OUT_LENPTR:
		return out_buffer(m, i, kind, size);
	case SCONE_ARG_IOV_IN:
	case SCONE_ARG_IOV_OUT:
		return __scone_m_iov(m, i, kind == SCONE_ARG_IOV_OUT);
	case SCONE_ARG_MSG_IN:
	case SCONE_ARG_MSG_OUT:
		return __scone_m_msg(m, i, kind == SCONE_ARG_MSG_OUT);
	case SCONE_ARG_MMSG_IN:
	case SCONE_ARG_MMSG_OUT:
		return __scone_m_mmsg(m, i, kind == SCONE_ARG_MMSG_OUT);
	case SCONE_ARG_MSGBUF_IN:
	case SCONE_ARG_MSGBUF_OUT:
		return __scone_m_msgbuf(m, i, kind == SCONE_ARG_MSGBUF_OUT);
	case SCONE_ARG_SIGMASK6:
		return __scone_m_sigmask6(m, i);
	default:
		return -EFAULT;    /* "ptr": an enclave address never leaves */
	}
}

long __scone_marshal_out(struct scone_marshal *m, long nr, const struct scone_sys_desc *d,
			 const long args[6], void *arena, size_t cap)
{
	__scone_memset(m, 0, sizeof *m);
	m->nr = nr;
	m->d = d;
	m->arena = arena;
	m->cap = cap;
	m->phase = SCONE_M_OUT;
	for (int i = 0; i < 6; i++)
		m->app[i] = m->host[i] = args[i];
	for (int i = 0; i < d->nargs; i++) {
		unsigned kind = d->args[i].kind, size = d->args[i].size;
		if (kind == SCONE_ARG_IOCTL || kind == SCONE_ARG_FCNTL || kind == SCONE_ARG_SEMUN) {
			__scone_m_decode(m, i);
			kind = m->dkind[i];
			size = m->dsize[i];
		}
		m->start[i] = m->used;
		long r = one(m, i, kind, size);
		if (r)
			return r;
	}
	return 0;
}

static void check(struct scone_marshal *m, long ret)
{
	const struct scone_sys_desc *d = m->d;
	if (d->ret == SCONE_RET_VALUE || is_errno(ret))
		return;
	switch (d->ret) {
	case SCONE_RET_ZERO:
		if (ret)
			__scone_m_broken(m, "result", (unsigned long)ret, 0);
		return;
	case SCONE_RET_FD:
		if (ret < 0 || ret >= SCONE_FD_LIMIT)
			__scone_m_broken(m, "descriptor", (unsigned long)ret, SCONE_FD_LIMIT - 1);
		return;
	case SCONE_RET_SIZE:
	case SCONE_RET_SIZEQ: {
		/* Only a size query (getxattr's size 0) may answer more than it asked. */
		unsigned long asked = (unsigned long)m->host[d->ret_arg];
		if (ret < 0 || (unsigned long)ret > asked) {
			if (ret < 0 || d->ret != SCONE_RET_SIZEQ || asked)
				__scone_m_broken(m, "result", (unsigned long)ret, asked);
		}
		return;
	}
	case SCONE_RET_IOVSIZE:
		if (ret < 0 || (unsigned long)ret > m->total[d->ret_arg])
			__scone_m_broken(m, "byte count", (unsigned long)ret, m->total[d->ret_arg]);
		return;
	default:
		__scone_m_broken(m, "result kind", d->ret, 0);
	}
}

/* How many bytes of plain buffer i to copy back. */
static size_t back_len(const struct scone_marshal *m, int i, unsigned kind, long ret)
{
	const struct scone_sys_arg *a = &m->d->args[i];
	if (kind == SCONE_ARG_OUT && ret_counts(m, i)) {
		if (ret < 0 || !m->host[m->d->ret_arg])
			return 0;     /* an error, or a size query: nothing was written */
		return (size_t)ret * a->size;
	}
	/* Fixed-size results: written on success, and on EINTR (nanosleep's rem). */
	return ret >= 0 || ret == -EINTR ? m->len[i] : 0;
}

/* A socklen_t-bounded buffer: the length the host wrote is already back in
 * the caller's socklen_t (trusted memory); read it there once and check it. */
static void back_lenptr(struct scone_marshal *m, int i, long ret)
{
	const struct scone_sys_arg *a = &m->d->args[i];
	if (ret < 0 || !m->host[i] || !m->app[a->size_arg])
		return;
	uint32_t got = *(volatile uint32_t *)m->app[a->size_arg];
	size_t cap = m->len[i];
	if (got > cap && got > SCONE_SOCKADDR_MAX)
		__scone_m_broken(m, "socklen_t", got, cap > SCONE_SOCKADDR_MAX ? cap : SCONE_SOCKADDR_MAX);
	/* got > cap is the kernel's truncation report; only cap bytes exist */
	__scone_memcpy((void *)m->app[i], (const void *)m->host[i], got < cap ? got : cap);
}

long __scone_marshal_back(struct scone_marshal *m, long ret)
{
	const struct scone_sys_desc *d = m->d;
	check(m, ret);
	m->ret = ret;
	m->phase = SCONE_M_BACK;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < d->nargs; i++) {
			unsigned kind = d->args[i].kind;
			if (kind == SCONE_ARG_IOCTL || kind == SCONE_ARG_FCNTL || kind == SCONE_ARG_SEMUN)
				kind = m->dkind[i];
			if ((kind == SCONE_ARG_OUT_LENPTR) != pass)
				continue;
			m->used = m->start[i];
			switch (kind) {
			case SCONE_ARG_OUT:
			case SCONE_ARG_INOUT: {
				size_t n = m->host[i] ? back_len(m, i, kind, ret) : 0;
				if (n > m->len[i])
					__scone_m_broken(m, "copy", n, m->len[i]);
				if (n)
					__scone_memcpy((void *)m->app[i], (const void *)m->host[i], n);
				break;
			}
			case SCONE_ARG_OUT_LENPTR:
				back_lenptr(m, i, ret);
				break;
			case SCONE_ARG_IOV_OUT:
				__scone_m_iov(m, i, 1);
				break;
			case SCONE_ARG_MSG_IN:
			case SCONE_ARG_MSG_OUT:
				__scone_m_msg(m, i, kind == SCONE_ARG_MSG_OUT);
				break;
			case SCONE_ARG_MMSG_IN:
			case SCONE_ARG_MMSG_OUT:
				__scone_m_mmsg(m, i, kind == SCONE_ARG_MMSG_OUT);
				break;
			case SCONE_ARG_MSGBUF_OUT:
				__scone_m_msgbuf(m, i, 1);
				break;
			default:
				break;
			}
		}
	}
	return ret;
}
