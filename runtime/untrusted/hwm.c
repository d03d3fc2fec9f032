/*
 * The high-water-mark file (SCONE_HWM_FILE=path): the enclave keeps its
 * figures in a host block as they rise (enclave_abi.h struct scone_hwm);
 * the starter writes them out as JSON once, however the process ends: the
 * enclave's exit or abort, a signal whose default action ends it (SIGTERM,
 * SIGINT, SIGHUP, SIGQUIT: caught here unless the program has its own
 * handler, then re-raised), a stack overflow or another fault (faults.c).
 * "%p" in the path becomes the process id, so that every process of a test
 * suite leaves its own file (`scone-sign size` merges them).
 *
 * The writer runs in signal handlers, in SIM possibly on an enclave thread
 * (the enclave's %fs): no libc there, raw system calls, a formatter of its
 * own. The file appears whole or not at all (a temporary file, renamed).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hwm.h"
#include "rawsys.h"

static struct scone_hwm block __attribute__((aligned(64)));
static char path[4096], tmp[4200];
static char exe[4096];
static char mr_hex[65];
static int enabled;
static int written;
static const int ending_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };

struct out {
	char s[16384];
	size_t n;
};

static void put(struct out *o, const char *s)
{
	while (*s && o->n < sizeof o->s - 1)
		o->s[o->n++] = *s++;
}

static void put_u(struct out *o, unsigned long long v)
{
	char t[24];
	int i = sizeof t;
	t[--i] = 0;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, t + i);
}

static void put_i(struct out *o, long long v)
{
	if (v < 0) {
		put(o, "-");
		put_u(o, (unsigned long long)-v);
	} else {
		put_u(o, (unsigned long long)v);
	}
}

/* A JSON string; the path may hold anything. */
static void put_q(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[8] = "\\u00";
		if (c == '"' || c == '\\') {
			e[0] = '\\', e[1] = (char)c, e[2] = 0;
			put(o, e);
		} else if (c < 0x20) {
			e[4] = "0123456789abcdef"[c >> 4], e[5] = "0123456789abcdef"[c & 15], e[6] = 0;
			put(o, e);
		} else {
			e[0] = (char)c, e[1] = 0;
			put(o, e);
		}
	}
	put(o, "\"");
}

static void field_u(struct out *o, const char *name, unsigned long long v, int comma)
{
	put(o, "  \"");
	put(o, name);
	put(o, "\": ");
	put_u(o, v);
	put(o, comma ? ",\n" : "\n");
}

static void handler(int sig);

static void arm(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

struct scone_hwm *scone_hwm_init(const char *exe_path)
{
	const char *v = getenv("SCONE_HWM_FILE");
	if (!v || !*v)
		return &block;     /* SCONE_LOG=info still wants the figures */
	size_t n = 0;
	/* Absolute: the program may change its directory (redis does). */
	if (v[0] != '/' && getcwd(path, sizeof path - 2)) {
		n = strlen(path);
		path[n++] = '/';
	}
	for (const char *p = v; *p && n < sizeof path - 24; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			char d[24];
			int i = sizeof d;
			long pid = (long)getpid();
			d[--i] = 0;
			do {
				d[--i] = (char)('0' + pid % 10);
				pid /= 10;
			} while (pid);
			for (const char *q = d + i; *q; q++)
				path[n++] = *q;
			p++;
		} else {
			path[n++] = *p;
		}
	}
	path[n] = 0;
	snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
	if (!realpath(exe_path, exe))
		snprintf(exe, sizeof exe, "%s", exe_path);
	block.flags = SCONE_HWM_SCAN;
	enabled = 1;
	for (unsigned i = 0; i < sizeof ending_signals / sizeof *ending_signals; i++) {
		struct sigaction old;
		/* One ignored since exec (nohup, a background shell's SIGINT) stays so. */
		if (!sigaction(ending_signals[i], NULL, &old) && old.sa_handler == SIG_IGN)
			continue;
		arm(ending_signals[i]);
	}
	return &block;
}

void scone_hwm_mrenclave(const uint8_t mr[32])
{
	for (int i = 0; i < 32; i++) {
		mr_hex[2 * i] = "0123456789abcdef"[mr[i] >> 4];
		mr_hex[2 * i + 1] = "0123456789abcdef"[mr[i] & 15];
	}
	mr_hex[64] = 0;
}

int scone_hwm_rearm(int sig)
{
	for (unsigned i = 0; enabled && i < sizeof ending_signals / sizeof *ending_signals; i++)
		if (ending_signals[i] == sig) {
			arm(sig);
			return 1;
		}
	return 0;
}

void scone_hwm_write(const char *end, long value, int overflow_thread)
{
	if (!enabled || __atomic_exchange_n(&written, 1, __ATOMIC_ACQ_REL))
		return;
	const volatile struct scone_hwm *h = &block;
	static struct out o;
	uint32_t ntcs = h->tcs_count < SCONE_MAX_TCS ? h->tcs_count : SCONE_MAX_TCS;
	uint64_t deepest = 0;
	o.n = 0;
	put(&o, "{\n  \"version\": 1,\n  \"binary\": ");
	put_q(&o, exe);
	put(&o, ",\n  \"mrenclave\": \"");
	put(&o, mr_hex);
	put(&o, "\",\n  \"pid\": ");
	put_u(&o, (unsigned long long)scone_raw4(SYS_getpid, 0, 0, 0, 0));
	put(&o, ",\n  \"end\": \"");
	put(&o, end);
	put(&o, "\",\n  \"value\": ");
	put_i(&o, value);
	put(&o, ",\n  \"exact\": ");
	put(&o, h->final ? "true" : "false");
	put(&o, ",\n");
	field_u(&o, "heap_size", h->heap_size, 1);
	field_u(&o, "heap_peak", h->heap_peak, 1);
	field_u(&o, "heap_refused", h->heap_refused, 1);
	field_u(&o, "stack_size", h->stack_size, 1);
	put(&o, "  \"stack_peaks\": [");
	for (uint32_t i = 0; i < ntcs; i++) {
		uint64_t s = h->stack_peak[i];
		if ((int)i == overflow_thread)
			s = h->stack_size + 4096;   /* past the end: into the guard page */
		if (s > deepest)
			deepest = s;
		put(&o, i ? ", " : "");
		put_u(&o, s);
	}
	put(&o, "],\n");
	field_u(&o, "stack_peak", deepest, 1);
	put(&o, "  \"stack_overflow_thread\": ");
	if (overflow_thread >= 0)
		put_u(&o, (unsigned)overflow_thread);
	else
		put(&o, "null");
	put(&o, ",\n");
	field_u(&o, "pthread_stack_peak", h->lthread_stack_peak, 1);
	field_u(&o, "tcs_count", h->tcs_count, 1);
	field_u(&o, "ethreads", h->ethreads, 1);
	field_u(&o, "lthreads_peak", h->lthreads_peak, 1);
	field_u(&o, "arena_unit", h->arena_unit, 1);
	field_u(&o, "arena_peak", h->arena_peak, 0);
	put(&o, "}\n");

	long fd = scone_raw4(SYS_openat, AT_FDCWD, (long)tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	size_t done = 0;
	while (done < o.n) {
		long w = scone_raw4(SYS_write, fd, (long)(o.s + done), (long)(o.n - done), 0);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	scone_raw4(SYS_fsync, fd, 0, 0, 0);
	scone_raw4(SYS_close, fd, 0, 0, 0);
	if (done == o.n)
		scone_raw4(SYS_rename, (long)tmp, (long)path, 0, 0);
	else
		scone_raw4(SYS_unlink, (long)tmp, 0, 0, 0);
}

/* A signal that would end the process: write, then let it end it. */
static void handler(int sig)
{
	scone_hwm_write("signal", sig, -1);
	struct { long handler, flags, restorer, mask; } dfl = { 0, 0, 0, 0 };
	scone_raw4(SYS_rt_sigaction, sig, (long)&dfl, 0, 8);
	scone_raw4(SYS_kill, scone_raw4(SYS_getpid, 0, 0, 0, 0), sig, 0, 0);
}
