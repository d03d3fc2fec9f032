/*
 * The enclave's marshalling code (runtime/trusted/marshal*.c), built into
 * a host program under ASan and UBSan, fed hostile host answers.
 *
 *   marshal_hostile cases     the contract checks, one line per case:
 *                             "CASE name ok" or "CASE name FAIL why"
 *   marshal_hostile fuzz N    N rounds over every external call in the
 *                             table: arguments laid out, the arena filled
 *                             with garbage, random results; every answer
 *                             must be accepted or refused (abort), and the
 *                             sanitizers must see no access outside the
 *                             caller's buffers and the arena.
 *
 * Expected outcomes come from the system calls' own contracts (read(2)
 * returns at most count bytes, ...), not from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"
#include "marshal.h"

static jmp_buf on_abort;
static char abort_msg[512];
static int aborted;

void __scone_memcpy(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __scone_memset(void *d, int c, size_t n) { memset(d, c, n); }
void __scone_log(int level, const char *fmt, ...) { (void)level, (void)fmt; }
void __scone_hwm_arena_note(uint64_t bytes) { (void)bytes; }
int __scone_mem_usable(uintptr_t a, size_t n, int write) { (void)a, (void)n, (void)write; return 1; }  /* nothing closed by mprotect here */
_Noreturn void __scone_abort(const char *msg)
{
	snprintf(abort_msg, sizeof abort_msg, "%s", msg);
	aborted = 1;
	longjmp(on_abort, 1);
}
_Noreturn void __scone_abortf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(abort_msg, sizeof abort_msg, fmt, ap);
	va_end(ap);
	aborted = 1;
	longjmp(on_abort, 1);
}

#define ARENA (128u << 10)
static char *arena;

/* Run one call: marshal out, let host() play the host on the arena, back. */
typedef long (*host_fn)(struct scone_marshal *m);
static long call(long nr, const long a[6], host_fn host, long *out_rc)
{
	static struct scone_marshal m;
	aborted = 0;
	abort_msg[0] = 0;
	long r = __scone_marshal_out(&m, nr, &scone_sys_desc[nr], a, arena, ARENA);
	if (r) {
		*out_rc = r;
		return 0;
	}
	if (setjmp(on_abort))
		return 1;
	*out_rc = __scone_marshal_back(&m, host(&m));
	return 0;
}

static int failures;
static void expect(const char *name, int ok, const char *why)
{
	printf("CASE %s %s%s%s\n", name, ok ? "ok" : "FAIL", ok ? "" : " ", ok ? "" : why);
	failures += !ok;
}

static long h_read_over(struct scone_marshal *m) { return m->host[2] + 1; }
static long h_read_all(struct scone_marshal *m) { memset((void *)m->host[1], 'x', m->host[2]); return m->host[2]; }
static long h_read_neg(struct scone_marshal *m) { (void)m; return -5000; }
static long h_errno(struct scone_marshal *m) { (void)m; return -9; }
static long h_fd_huge(struct scone_marshal *m) { (void)m; return 0x7fffffc0; }
static long h_fd_ok(struct scone_marshal *m) { (void)m; return 1000; }
static long h_zero_pos(struct scone_marshal *m) { (void)m; return 1; }
static long h_sock_trunc(struct scone_marshal *m)
{
	memset((void *)m->host[1], 'n', *(uint32_t *)m->host[2]);
	*(uint32_t *)m->host[2] = 110;     /* truncation report: a sun_path address */
	return 5;
}
static long h_sock_huge(struct scone_marshal *m) { *(uint32_t *)m->host[2] = 4096; return 5; }
static long h_readv_over(struct scone_marshal *m) { (void)m; return 4 + 6 + 1; }
static long h_readv_ok(struct scone_marshal *m)
{
	struct iovec *v = (struct iovec *)m->host[1];
	memcpy(v[0].iov_base, "abcd", 4);
	memcpy(v[1].iov_base, "efghij", 6);
	return 10;
}
static long h_recvmsg_ctl(struct scone_marshal *m)
{
	struct msghdr *h = (struct msghdr *)m->host[1];
	h->msg_controllen += 1;
	return 0;
}
static long h_recvmsg_ok(struct scone_marshal *m)
{
	struct msghdr *h = (struct msghdr *)m->host[1];
	memcpy(h->msg_iov[0].iov_base, "hello", 5);
	h->msg_controllen = 16;
	h->msg_namelen = 2;
	h->msg_flags = 0x20;
	return 5;
}
static long h_mmsg_len(struct scone_marshal *m)
{
	struct mmsghdr *h = (struct mmsghdr *)m->host[1];
	h[0].msg_len = 9;                   /* one more than the 8-byte buffer */
	return 1;
}
/* Every message laid out gets its own bytes: 'a' + its index. */
static long h_mmsg_each(struct scone_marshal *m)
{
	struct mmsghdr *h = (struct mmsghdr *)m->host[1];
	for (long j = 0; j < m->host[2]; j++) {
		struct iovec *v = h[j].msg_hdr.msg_iov;
		memset(v[0].iov_base, 'a' + (int)(j % 26), v[0].iov_len);
		h[j].msg_len = (unsigned)v[0].iov_len;
	}
	return m->host[2];
}
static long h_big_size(struct scone_marshal *m) { (void)m; return 1 << 20; }
static long h_size_query(struct scone_marshal *m) { (void)m; return 100; }
static long h_epoll_over(struct scone_marshal *m) { return m->host[2] + 1; }
static long h_getcwd_full(struct scone_marshal *m) { memset((void *)m->host[0], 'A', m->host[1]); return m->host[1]; }

static void cases(void)
{
	char buf[64], canary[16];
	long rc;
	memset(canary, 0x5a, sizeof canary);
	long rd[6] = { 0, (long)buf, sizeof buf };
	expect("read_longer_than_asked_aborts", call(0, rd, h_read_over, &rc) && strstr(abort_msg, "at most 64"), abort_msg);
	expect("read_full_is_copied", !call(0, rd, h_read_all, &rc) && rc == 64 && buf[63] == 'x', "");
	expect("read_non_errno_negative_aborts", call(0, rd, h_read_neg, &rc), "");
	expect("read_errno_passes", !call(0, rd, h_errno, &rc) && rc == -9, "");
	long big[6] = { 0, (long)malloc(1 << 20), 1 << 20 };
	expect("read_larger_than_arena_is_clamped", !call(0, big, h_read_all, &rc) && rc > 0 && rc <= (long)ARENA, "");
	free((void *)big[1]);
	long dup[6] = { 3 };
	expect("fd_beyond_nr_open_aborts", call(32, dup, h_fd_huge, &rc) && strstr(abort_msg, "descriptor"), abort_msg);
	expect("fd_in_range_passes", !call(32, dup, h_fd_ok, &rc) && rc == 1000, "");
	expect("zero_result_positive_aborts", call(3, dup, h_zero_pos, &rc), "");
	char sa[16];
	socklen_t sl = sizeof sa;
	long acc[6] = { 3, (long)sa, (long)&sl };
	expect("accept_truncated_address_copies_capacity_only",
	       !call(43, acc, h_sock_trunc, &rc) && rc == 5 && sl == 110 && sa[15] == 'n', "");
	sl = sizeof sa;
	expect("accept_socklen_beyond_sockaddr_aborts", call(43, acc, h_sock_huge, &rc) && strstr(abort_msg, "socklen_t"), abort_msg);
	char b1[4], b2[6];
	struct iovec iov[2] = { { b1, 4 }, { b2, 6 } };
	long rv[6] = { 3, (long)iov, 2 };
	expect("readv_more_than_iovecs_aborts", call(19, rv, h_readv_over, &rc) && strstr(abort_msg, "byte count"), abort_msg);
	expect("readv_scatters", !call(19, rv, h_readv_ok, &rc) && rc == 10 && !memcmp(b1, "abcd", 4) && !memcmp(b2, "efghij", 6), "");
	char data[8], ctl[16], name[8];
	struct iovec miov = { data, sizeof data };
	struct msghdr mh = { .msg_name = name, .msg_namelen = sizeof name, .msg_iov = &miov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof ctl };
	long rm[6] = { 3, (long)&mh, 0 };
	expect("recvmsg_controllen_beyond_buffer_aborts", call(47, rm, h_recvmsg_ctl, &rc) && strstr(abort_msg, "msg_controllen"), abort_msg);
	mh.msg_controllen = sizeof ctl;
	expect("recvmsg_copies_back", !call(47, rm, h_recvmsg_ok, &rc) && rc == 5 && !memcmp(data, "hello", 5) &&
	       mh.msg_controllen == 16 && mh.msg_namelen == 2 && mh.msg_flags == 0x20, "");
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &miov, .msg_iovlen = 1 } };
	long rmm[6] = { 3, (long)&mm, 1, 0, 0 };
	expect("recvmmsg_len_beyond_message_aborts", call(299, rmm, h_mmsg_len, &rc) && strstr(abort_msg, "msg_len"), abort_msg);
	/* recvmmsg: message j's data lands in message j's buffer, also when
	 * the arena cuts vlen (the copy-back replays the layout OUT made) */
	for (int many = 0; many < 2; many++) {
		enum { N = 200 };
		unsigned sz = many ? 1000 : 20, nmsg = many ? N : 3;
		static char mbuf[N][1000];
		static struct iovec mv[N];
		static struct mmsghdr mms[N];
		memset(mbuf, 0, sizeof mbuf);
		for (unsigned j = 0; j < nmsg; j++) {
			mv[j] = (struct iovec){ mbuf[j], sz };
			mms[j] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &mv[j], .msg_iovlen = 1 } };
		}
		long rmv[6] = { 3, (long)mms, nmsg, 0, 0 };
		int bad = call(299, rmv, h_mmsg_each, &rc) || rc < 1 || rc > (long)nmsg || (!many && rc != 3);
		for (long j = 0; !bad && j < rc; j++)
			for (unsigned b = 0; b < sz; b++)
				bad |= mbuf[j][b] != 'a' + (int)(j % 26) || mms[j].msg_len != sz;
		for (long j = rc; !bad && j < (long)nmsg; j++)
			bad |= mbuf[j][0] != 0;
		expect(many ? "recvmmsg_200x1000_each_message_its_own_data" : "recvmmsg_3x20_each_message_its_own_data",
		       !bad, abort_msg);
	}
	/* a count of 0 must give 0; only a size query (getxattr's 0) may say more */
	long rd0[6] = { 0, (long)buf, 0 };
	expect("read_of_nothing_answered_1MiB_aborts", call(0, rd0, h_big_size, &rc) && strstr(abort_msg, "result 1048576, at most 0"), abort_msg);
	long pl0[6] = { (long)buf, 0, 0 };
	expect("poll_of_nothing_answered_1MiB_aborts", call(7, pl0, h_big_size, &rc), "");
	long rf0[6] = { 3, (long)buf, 0, 0, 0, 0 };
	expect("recvfrom_of_nothing_answered_1MiB_aborts", call(45, rf0, h_big_size, &rc), "");
	long gx0[6] = { (long)"/p", (long)"user.x", (long)buf, 0 };
	expect("getxattr_size_query_passes", !call(191, gx0, h_size_query, &rc) && rc == 100, abort_msg);
	expect("getxattr_size_query_bad_negative_aborts", call(191, gx0, h_read_neg, &rc), "");
	long gg0[6] = { 0, (long)buf };
	expect("getgroups_size_query_passes", !call(115, gg0, h_size_query, &rc) && rc == 100, abort_msg);
	long gx4[6] = { (long)"/p", (long)"user.x", (long)buf, 4 };
	expect("getxattr_more_than_asked_aborts", call(191, gx4, h_size_query, &rc), "");
	char ev[12 * 4];
	long ew[6] = { 3, (long)ev, 4, 0 };
	expect("epoll_wait_more_events_than_asked_aborts", call(232, ew, h_epoll_over, &rc), "");
	char cwd[32];
	long gc[6] = { (long)cwd, sizeof cwd };
	expect("getcwd_unterminated_stays_in_buffer", !call(79, gc, h_getcwd_full, &rc) && rc == 32 && cwd[31] == 'A', "");
	char longname[5000];
	memset(longname, 'p', sizeof longname);
	long op[6] = { (long)longname, 0, 0 };
	expect("path_without_nul_within_bound_is_enametoolong", !call(2, op, h_errno, &rc) && rc == -36, "");
	expect("canary", canary[0] == 0x5a && canary[15] == 0x5a, "");
}

/* ---- fuzz: every external call, hostile arenas and results ---- */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static void *blk(size_t n) { char *p = malloc(n ? n : 1); memset(p, 0x33, n); return p; }

static long h_fuzz(struct scone_marshal *m)
{
	for (size_t i = 0; i < m->used; i++)
		if (rnd() % 4 == 0)
			m->arena[i] = (char)rnd();
	static const long picks[] = { 0, 1, 2, 7, 64, 4096, -1, -4095, -4096, 1l << 40, -(1l << 40) };
	long r = picks[rnd() % (sizeof picks / sizeof picks[0])];
	if (m->d->ret_arg != SCONE_SYS_NOARG && rnd() % 2)
		r = m->host[m->d->ret_arg] + (long)(rnd() % 3) - 1;
	return r;
}

static void fuzz(long rounds)
{
	long accepted = 0, refused = 0, early = 0;
	for (long k = 0; k < rounds; k++) {
		for (long nr = 0; nr < (long)SCONE_SYS_COUNT; nr++) {
			const struct scone_sys_desc *d = &scone_sys_desc[nr];
			if (d->cls != SCONE_SYS_CLASS_EXTERNAL)
				continue;
			long a[6] = { 0 };
			void *owned[64];
			int no = 0;
			/* counts first, then the buffers they size */
			for (int i = 0; i < d->nargs; i++)
				a[i] = (long)(rnd() % 5);
			for (int i = 0; i < d->nargs; i++) {
				const struct scone_sys_arg *x = &d->args[i];
				long cnt = x->size_arg != SCONE_SYS_NOARG ? a[x->size_arg] : 1;
				switch (x->kind) {
				case SCONE_ARG_STR: {
					char *s = blk(8);
					memcpy(s, "path", 5);
					a[i] = (long)(owned[no++] = s);
					break;
				}
				case SCONE_ARG_IN: case SCONE_ARG_OUT: case SCONE_ARG_INOUT:
					a[i] = (long)(owned[no++] = blk(x->size_arg != SCONE_SYS_NOARG ? x->size * cnt : x->size));
					break;
				case SCONE_ARG_OUT_LENPTR: {
					uint32_t *len = blk(4);
					*len = (uint32_t)(rnd() % 40);
					owned[no++] = len;
					a[x->size_arg] = (long)len;
					a[i] = (long)(owned[no++] = blk(*len));
					break;
				}
				case SCONE_ARG_IOV_IN: case SCONE_ARG_IOV_OUT: {
					struct iovec *v = blk(sizeof *v * cnt);
					owned[no++] = v;
					for (long j = 0; j < cnt && no < 60; j++) {
						v[j].iov_len = rnd() % 9;
						v[j].iov_base = owned[no++] = blk(v[j].iov_len);
					}
					a[i] = (long)v;
					break;
				}
				case SCONE_ARG_MSG_IN: case SCONE_ARG_MSG_OUT:
				case SCONE_ARG_MMSG_IN: case SCONE_ARG_MMSG_OUT: {
					int mm = x->kind == SCONE_ARG_MMSG_IN || x->kind == SCONE_ARG_MMSG_OUT;
					long n = mm ? cnt : 1;
					struct mmsghdr *v = blk(sizeof *v * (n ? n : 1));
					memset(v, 0, sizeof *v * (n ? n : 1));
					owned[no++] = v;
					for (long j = 0; j < n && no < 56; j++) {
						struct msghdr *h = &v[j].msg_hdr;
						struct iovec *io = owned[no++] = blk(sizeof *io);
						io->iov_len = rnd() % 9;
						io->iov_base = owned[no++] = blk(io->iov_len);
						h->msg_iov = io;
						h->msg_iovlen = 1;
						h->msg_namelen = rnd() % 20;
						h->msg_name = owned[no++] = blk(h->msg_namelen);
						h->msg_controllen = rnd() % 40;
						h->msg_control = owned[no++] = blk(h->msg_controllen);
					}
					a[i] = (long)v;
					break;
				}
				case SCONE_ARG_MSGBUF_IN: case SCONE_ARG_MSGBUF_OUT:
					a[i] = (long)(owned[no++] = blk(8 + cnt));
					break;
				case SCONE_ARG_SIGMASK6: {
					uint64_t *p = blk(16);
					p[0] = (uint64_t)(owned[no++] = blk(8));
					p[1] = 8;
					a[i] = (long)(owned[no++] = p);
					break;
				}
				case SCONE_ARG_IOCTL: {
					static const long reqs[] = { 0x5401, 0x5413, 0x541b, 0x80085000, 0x40045001, 0xc0105002, 0x1234 };
					a[x->size_arg] = reqs[rnd() % 7];
					a[i] = (long)(owned[no++] = blk(0x10));
					if (a[x->size_arg] == 0x5401)
						a[i] = (long)(owned[no - 1] = realloc(owned[no - 1], 36));
					break;
				}
				case SCONE_ARG_FCNTL: {
					static const long cmds[] = { 1, 5, 6, 16, 15, 1035 };
					a[x->size_arg] = cmds[rnd() % 6];
					a[i] = (long)(owned[no++] = blk(32));
					break;
				}
				case SCONE_ARG_SEMUN: {
					static const long cmds[] = { 2, 1, 3, 13, 0 };
					a[x->size_arg] = cmds[rnd() % 5];
					a[i] = (long)(owned[no++] = blk(104));
					break;
				}
				default:
					break;
				}
			}
			long rc;
			if (getenv("FUZZ_TRACE"))
				fprintf(stderr, "nr %ld args %lx %lx %lx %lx\n", nr, a[0], a[1], a[2], a[3]);
			memset(arena, 0, ARENA);
			static struct scone_marshal m;
			aborted = 0;
			long r = __scone_marshal_out(&m, nr, d, a, arena, ARENA);
			if (r) {
				early++;
			} else if (setjmp(on_abort)) {
				refused++;
			} else {
				rc = __scone_marshal_back(&m, h_fuzz(&m));
				(void)rc;
				accepted++;
			}
			while (no)
				free(owned[--no]);
		}
	}
	printf("FUZZ accepted=%ld refused=%ld refused_before_posting=%ld\n", accepted, refused, early);
}

int main(int argc, char **argv)
{
	arena = malloc(ARENA);   /* exactly the arena: ASan sees any access past it */
	if (argc > 1 && !strcmp(argv[1], "cases")) {
		cases();
		return failures ? 1 : 0;
	}
	if (argc > 2 && !strcmp(argv[1], "fuzz")) {
		fuzz(atol(argv[2]));
		return 0;
	}
	fprintf(stderr, "usage: marshal_hostile cases | fuzz N\n");
	return 2;
}
