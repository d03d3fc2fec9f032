/*
 * The lies of the hostile host (hostile.h). SCONE_HOSTILE picks one.
 *
 * Named lies, each aimed at one call of tests/async/progs/victim.c so that
 * start-up is left alone:
 *   size     read returns more bytes than asked
 *   iov      readv returns more bytes than its iovecs hold
 *   fd       dup returns a descriptor no kernel hands out
 *   zero     close returns a positive value
 *   socklen  getsockname writes a socklen_t larger than any sockaddr
 *   msg      recvmsg writes msg_controllen beyond the control buffer
 *   garbage  uname fills its buffer, and the arena beyond it, with 'A'
 *   cookie   the response to getppid carries a flipped cookie
 *   index    getppid is answered twice (a response with no request)
 *   status   the response to getppid goes to a slot the enclave never used
 *   signal   SIGUSR2 is forwarded though the enclave never asked (signals.c)
 *
 * Table-driven lies (tests/async/test_hostile_host.py generates them):
 * SCONE_HOSTILE=TARGET=EXPR sets one host-controlled field to EXPR;
 * TARGET=EXPR/EXPR2 keeps rewriting it with the two values, from a thread
 * of its own, while the enclave runs (a field that changes between two
 * reads). TARGET is one of
 *   area.FIELD          the syscall area header (queue_abi.h), before START
 *   start.FIELD         the START arguments (enclave_abi.h): argc, argv,
 *                       envp, ocall, flags, reserved0..reserved8, argv0
 *                       (the word argv[0] of the host's own array)
 *   ret.NR              the result of every call NR (async and sync)
 *   mem.NR.K.OFF.W      after call NR, W bytes (1, 2, 4, 8) at args[K] + OFF
 *                       (a length the host writes back into the arena)
 *   ethread.ocall       the OCALL block an ethread (TCS 1..) enters with
 *   rsp.NR.cookie       the cookie of the response to call NR
 *   rsp.NR.extra        EXPR more responses after the one to call NR
 * EXPR is terms joined by + - ^ (left to right); a term is a number (C
 * syntax) or one of: enc (the enclave's base), end (base + size), v (the
 * honest value), c (the honest cookie), a0..a5 (the request's arguments),
 * canary (enc + SCONE_HOSTILE_CANARY, an offset into the enclave).
 * SCONE_HOSTILE_EXE names the scone binary whose enclave this starter runs.
 */
#ifdef SCONE_HOSTILE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostile.h"

#define FLIP_NS 300000000l      /* how long a flipper keeps rewriting */

static int mode(const char *m)
{
	const char *v = getenv("SCONE_HOSTILE");
	return v && !strcmp(v, m);
}

const char *scone_hostile_exe(void)
{
	const char *p = getenv("SCONE_HOSTILE_EXE");
	return p && *p ? p : "/proc/self/exe";
}

/* ---- the table-driven lies: parsed once, before any thread starts ---- */
#define LIES 4
struct lie {
	int flip;
	char target[64];
	char expr[2][128];
	int done;                  /* rsp lies act once */
};
static struct {
	int n;
	struct lie lie[LIES];
	uint64_t enc, end, canary;
} H;
static __thread struct lie L;      /* the lie being applied, per thread */

struct ctx {
	uint64_t v, c;
	const int64_t *a;
};

static int term(const char *s, size_t n, const struct ctx *x, uint64_t *out)
{
	char t[64];
	if (!n || n >= sizeof t)
		return 0;
	memcpy(t, s, n);
	t[n] = 0;
	if (!strcmp(t, "enc"))
		*out = H.enc;
	else if (!strcmp(t, "end"))
		*out = H.end;
	else if (!strcmp(t, "canary"))
		*out = H.enc + H.canary;
	else if (!strcmp(t, "v"))
		*out = x->v;
	else if (!strcmp(t, "c"))
		*out = x->c;
	else if (t[0] == 'a' && t[1] >= '0' && t[1] <= '5' && !t[2])
		*out = x->a ? (uint64_t)x->a[t[1] - '0'] : 0;
	else {
		char *e;
		*out = strtoull(t, &e, 0);
		return !*e;
	}
	return 1;
}

static uint64_t eval(const char *s, const struct ctx *x)
{
	uint64_t acc = 0, t;
	char op = '+';
	if (*s == '-')                  /* "-4096" is 0 - 4096 */
		op = *s++;
	for (;;) {
		size_t n = strcspn(s, "+-^");
		if (!term(s, n, x, &t))
			abort();            /* a malformed case is the test's bug */
		acc = op == '+' ? acc + t : op == '-' ? acc - t : acc ^ t;
		if (!s[n])
			return acc;
		op = s[n];
		s += n + 1;
	}
}

/* One lie, "TARGET=EXPR[/EXPR2]", of n bytes at v. */
static int parse_one(const char *v, size_t n, struct lie *l)
{
	const char *eq = memchr(v, '=', n);
	if (!eq || (size_t)(eq - v) >= sizeof l->target)
		return 0;
	memcpy(l->target, v, (size_t)(eq - v));
	const char *e = eq + 1, *slash = memchr(e, '/', n - (size_t)(e - v));
	size_t n1 = slash ? (size_t)(slash - e) : n - (size_t)(e - v);
	size_t n2 = slash ? n - (size_t)(slash + 1 - v) : 0;
	if (n1 >= sizeof l->expr[0] || n2 >= sizeof l->expr[1])
		return 0;
	memcpy(l->expr[0], e, n1);
	if (slash)
		memcpy(l->expr[1], slash + 1, n2);
	l->flip = !!slash;
	return 1;
}

/* SCONE_HOSTILE: up to LIES lies joined by ';'. */
static void parse(void)
{
	static int parsed;
	if (parsed)
		return;
	parsed = 1;
	const char *v = getenv("SCONE_HOSTILE");
	if (!v || !strchr(v, '='))
		return;
	while (*v && H.n < LIES) {
		size_t n = strcspn(v, ";");
		if (!parse_one(v, n, &H.lie[H.n]))
			abort();            /* a malformed case is the test's bug */
		H.n++;
		v += n + (v[n] == ';');
	}
	const char *c = getenv("SCONE_HOSTILE_CANARY");
	H.canary = c ? strtoull(c, 0, 0) : 0;
}

struct flipper {
	void *at;
	int width;
	uint64_t val[2];
};

static void put(void *at, int width, uint64_t val)
{
	switch (width) {
	case 1: __atomic_store_n((uint8_t *)at, (uint8_t)val, __ATOMIC_RELAXED); break;
	case 2: __atomic_store_n((uint16_t *)at, (uint16_t)val, __ATOMIC_RELAXED); break;
	case 4: __atomic_store_n((uint32_t *)at, (uint32_t)val, __ATOMIC_RELAXED); break;
	default: __atomic_store_n((uint64_t *)at, val, __ATOMIC_RELAXED); break;
	}
}

static void *flip_main(void *p)
{
	struct flipper *f = p;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0;; i++) {
		put(f->at, f->width, f->val[i & 1]);
		if (i % 64 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000000l + (t.tv_nsec - t0.tv_nsec) > FLIP_NS)
				break;
		}
	}
	free(f);
	return 0;
}

/* Write the lie at `at` (width bytes, honest value v), or start a flipper there. */
static void lie_at(void *at, int width, uint64_t v, const struct ctx *x)
{
	struct ctx c = *x;
	c.v = v;
	uint64_t a = eval(L.expr[0], &c);
	put(at, width, a);
	if (!L.flip)
		return;
	struct flipper *f = malloc(sizeof *f);
	*f = (struct flipper){ at, width, { a, eval(L.expr[1], &c) } };
	pthread_t th;
	if (!pthread_create(&th, 0, flip_main, f))
		pthread_detach(th);
}

static uint64_t get(const void *at, int width)
{
	switch (width) {
	case 1: return *(const uint8_t *)at;
	case 2: return *(const uint16_t *)at;
	case 4: return *(const uint32_t *)at;
	default: return *(const uint64_t *)at;
	}
}

#define FIELD(s, f) { #f, offsetof(s, f), sizeof(((s *)0)->f) }
struct field {
	const char *name;
	size_t off;
	int width;
};
static const struct field area_fields[] = {
	FIELD(struct scone_syscall_area, magic), FIELD(struct scone_syscall_area, version),
	FIELD(struct scone_syscall_area, flags), FIELD(struct scone_syscall_area, queues),
	FIELD(struct scone_syscall_area, entries), FIELD(struct scone_syscall_area, pairs),
	FIELD(struct scone_syscall_area, arena), FIELD(struct scone_syscall_area, arena_unit),
	FIELD(struct scone_syscall_area, arena_units), FIELD(struct scone_syscall_area, espins),
	FIELD(struct scone_syscall_area, pid), FIELD(struct scone_syscall_area, tid),
};
static const struct field start_fields[] = {
	FIELD(struct scone_start_args, argc), FIELD(struct scone_start_args, argv),
	FIELD(struct scone_start_args, envp), FIELD(struct scone_start_args, ocall),
	FIELD(struct scone_start_args, flags), FIELD(struct scone_start_args, hwcap),
	FIELD(struct scone_start_args, hwcap2),
};

/* Apply a lie to a field of a struct at base, from the table given; 1 if it matched. */
static int lie_field(const char *name, void *base, const struct field *t, size_t n)
{
	struct ctx x = { 0 };
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, t[i].name)) {
			void *at = (char *)base + t[i].off;
			lie_at(at, t[i].width, get(at, t[i].width), &x);
			return 1;
		}
	return 0;
}

static void start_lie(struct scone_start_args *args, struct scone_syscall_area *area);

void scone_hostile_start(struct scone_start_args *args, struct scone_syscall_area *area,
			 uint64_t base, uint64_t size)
{
	parse();
	H.enc = base;
	H.end = base + size;
	for (int i = 0; i < H.n; i++) {
		L = H.lie[i];
		start_lie(args, area);
	}
}

static void start_lie(struct scone_start_args *args, struct scone_syscall_area *area)
{
	struct ctx x = { 0 };
	const char *t = L.target;
	if (!strncmp(t, "area.", 5) && area) {
		lie_field(t + 5, area, area_fields, sizeof area_fields / sizeof area_fields[0]);
	} else if (!strncmp(t, "start.", 6)) {
		if (!strcmp(t + 6, "argv0")) {
			uint64_t *w = (uint64_t *)(uintptr_t)args->argv;
			lie_at(w, 8, w[0], &x);
		} else if (!strncmp(t + 6, "reserved", 8) && t[14] >= '0' && t[14] <= '8' && !t[15]) {
			lie_at(&args->reserved[t[14] - '0'], 8, args->reserved[t[14] - '0'], &x);
		} else {
			lie_field(t + 6, args, start_fields, sizeof start_fields / sizeof start_fields[0]);
		}
	}
}

uint64_t scone_hostile_ethread(uint64_t ocall)
{
	struct ctx x = { ocall, 0, 0 };
	for (int i = 0; i < H.n; i++)
		if (!strcmp(H.lie[i].target, "ethread.ocall"))
			ocall = eval(H.lie[i].expr[0], &x);
	return ocall;
}

/* "ret.NR" or "mem.NR.K.OFF.W": NR and the rest parsed from the target. */
static int target_nr(const char *prefix, long *nr, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(L.target, prefix, n))
		return 0;
	char *e;
	*nr = strtol(L.target + n, &e, 10);
	*rest = e;
	return e != L.target + n;
}

static long table_result(const struct scone_request *r, long ret)
{
	long nr;
	const char *rest;
	struct ctx x = { (uint64_t)ret, r->cookie, r->args };
	if (target_nr("ret.", &nr, &rest) && !*rest && nr == r->nr)
		return (long)eval(L.expr[0], &x);   /* a value, not memory: no flipper */
	if (target_nr("mem.", &nr, &rest) && nr == r->nr && ret >= 0) {
		int k, w;
		long off;
		char *e;
		if (*rest++ != '.')
			return ret;
		k = (int)strtol(rest, &e, 10);
		if (*e++ != '.' || k < 0 || k > 5)
			return ret;
		off = strtol(e, &e, 0);
		if (*e++ != '.')
			return ret;
		w = (int)strtol(e, &e, 10);
		if (!r->args[k] || (w != 1 && w != 2 && w != 4 && w != 8))
			return ret;
		void *at = (char *)(uintptr_t)r->args[k] + off;
		lie_at(at, w, get(at, w), &x);
	}
	return ret;
}

long scone_hostile_result(const struct scone_request *r, long ret)
{
	const int64_t *a = r->args;
	parse();
	if (H.n) {
		for (int i = 0; i < H.n; i++) {
			L = H.lie[i];
			ret = table_result(r, ret);
		}
		return ret;
	}
	if (r->nr == 0 && mode("size") && ret >= 0)
		return a[2] + 4096;
	if (r->nr == 19 && mode("iov") && ret >= 0) {
		const uint64_t *v = (const uint64_t *)a[1];
		long total = 0;
		for (int64_t i = 0; i < a[2]; i++)
			total += (long)v[2 * i + 1];
		return total + 1;
	}
	if (r->nr == 32 && mode("fd"))
		return 0x7ffffff0;
	if (r->nr == 3 && mode("zero"))
		return 5;
	if (r->nr == 51 && mode("socklen") && ret == 0)
		*(uint32_t *)a[2] = 4096;
	if (r->nr == 47 && mode("msg") && ret >= 0) {
		uint64_t *msg = (uint64_t *)a[1];
		msg[5] = 1u << 20;  /* msg_controllen: far past the buffer */
	}
	if (r->nr == 63 && mode("garbage"))
		memset((void *)a[0], 'A', 4096);
	return ret;
}

long scone_hostile_ocall(const struct scone_ocall *o, long ret)
{
	struct scone_request r = { .nr = o->nr };
	memcpy(r.args, o->args, sizeof r.args);
	return scone_hostile_result(&r, ret);
}

static void table_respond(int64_t nr, struct scone_response *rsp, uint32_t mask, uint32_t *rsp_tail)
{
	long want;
	const char *rest;
	struct scone_response *last = &rsp[(*rsp_tail - 1) & mask];
	struct ctx x = { 0, last->cookie, 0 };
	if (L.done || !target_nr("rsp.", &want, &rest) || want != nr)
		return;
	L.done = 1;
	if (!strcmp(rest, ".cookie")) {
		lie_at(&last->cookie, 8, last->cookie, &x);
	} else if (!strcmp(rest, ".extra")) {
		uint64_t n = eval(L.expr[0], &x);
		for (uint64_t i = 0; i < n && i <= mask; i++)
			rsp[(*rsp_tail + (uint32_t)i) & mask] = *last;
		*rsp_tail += (uint32_t)n;   /* the index itself may run far ahead */
	}
}

void scone_hostile_respond(int64_t nr, struct scone_queue_pair *qp, struct scone_response *rsp,
			   uint32_t mask, uint32_t *rsp_tail)
{
	(void)qp;
	struct scone_response *last = &rsp[(*rsp_tail - 1) & mask];
	static int done;
	parse();
	if (H.n) {
		for (int i = 0; i < H.n; i++) {
			L = H.lie[i];
			table_respond(nr, rsp, mask, rsp_tail);
			H.lie[i].done = L.done;
		}
		return;
	}
	if (done)
		return;
	if (mode("cookie") && nr == 110) {
		last->cookie ^= 1ull << 40;
		done = 1;
	} else if (mode("index") && nr == 110) {
		rsp[*rsp_tail & mask] = *last;
		++*rsp_tail;
		done = 1;
	} else if (mode("status") && nr == 110) {
		last->cookie = (last->cookie & ~0xffffffffull) | ((last->cookie + 1) & mask);
		done = 1;
	}
}
#endif
