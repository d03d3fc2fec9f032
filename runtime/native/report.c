/*
 * Per-number syscall counts of the native hook, written at exit_group when
 * SCONE_TRACE=1 (stderr) or SCONE_TRACE=<file> (appended: each process
 * writes its own report; a forked child's counts start at zero).
 *
 * Called from the hook itself, so it must not make calls through the hook
 * and must not use TLS or errno: raw syscalls only. The calls it makes are
 * counted up front so that the report matches what strace sees.
 */
#include <stddef.h>
#include "scone/hook.h"
#include "names.h"

#define NR_write 1
#define NR_close 3
#define NR_openat 257
#define AT_FDCWD_ (-100)
#define O_WRONLY_ 01
#define O_CREAT_ 0100
#define O_APPEND_ 02000
#define O_CLOEXEC_ 02000000

__attribute__((visibility("hidden"))) unsigned long __scone_native_counts[SCONE_NR_COUNTED];
extern char **__environ;

static long raw3(long n, long a, long b, long c)
{
	long r;
	__asm__ __volatile__ ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
			      : "rcx", "r11", "memory");
	return r;
}

static long raw4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ __volatile__ ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			      : "rcx", "r11", "memory");
	return r;
}

static const char *trace_setting(void)
{
	static const char key[] = "SCONE_TRACE=";
	if (!__environ)
		return 0;
	for (char **e = __environ; *e; e++) {
		size_t i = 0;
		while (key[i] && (*e)[i] == key[i])
			i++;
		if (!key[i])
			return *e + i;
	}
	return 0;
}

/* Report buffer: static, the stack of the exiting thread may be small. */
static char buf[SCONE_NR_COUNTED * 48 + 256];

static size_t put(size_t at, const char *s)
{
	while (*s && at < sizeof buf)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(size_t at, unsigned long v, int width)
{
	char tmp[24];
	int n = 0;
	do tmp[n++] = '0' + v % 10; while (v /= 10);
	while (width-- > n && at < sizeof buf)
		buf[at++] = ' ';
	while (n && at < sizeof buf)
		buf[at++] = tmp[--n];
	return at;
}

static size_t format(void)
{
	size_t at = put(0, "scone-trace: nr name count (native hook)\n");
	unsigned long total = 0;
	for (int nr = 0; nr < SCONE_NR_COUNTED; nr++) {
		unsigned long c = __atomic_load_n(&__scone_native_counts[nr], __ATOMIC_RELAXED);
		if (!c)
			continue;
		total += c;
		at = put(at, "scone-trace: ");
		at = put_num(at, nr, 3);
		at = put(at, " ");
		at = put(at, nr < (int)(sizeof scone_syscall_names / sizeof *scone_syscall_names)
			 && scone_syscall_names[nr] ? scone_syscall_names[nr] : "?");
		at = put(at, " ");
		at = put_num(at, c, 0);
		at = put(at, "\n");
	}
	at = put(at, "scone-trace: total ");
	at = put_num(at, total, 0);
	return put(at, "\n");
}

static void write_all(int fd, size_t len)
{
	for (size_t off = 0; off < len; ) {
		long r = raw3(NR_write, fd, (long)(buf + off), len - off);
		if (r <= 0)
			return;
		off += r;
	}
}

__attribute__((visibility("hidden"))) void __scone_native_report(void)
{
	const char *how = trace_setting();
	if (!how || !*how || (how[0] == '0' && !how[1]))
		return;
	int to_stderr = how[0] == '1' && !how[1];
	if (to_stderr) {
		__atomic_fetch_add(&__scone_native_counts[NR_write], 1, __ATOMIC_RELAXED);
		write_all(2, format());
		return;
	}
	__atomic_fetch_add(&__scone_native_counts[NR_openat], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&__scone_native_counts[NR_write], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&__scone_native_counts[NR_close], 1, __ATOMIC_RELAXED);
	size_t len = format();
	long fd = raw4(NR_openat, AT_FDCWD_, (long)how,
		       O_WRONLY_ | O_CREAT_ | O_APPEND_ | O_CLOEXEC_, 0644);
	if (fd < 0)
		return;
	write_all(fd, len);
	raw3(NR_close, fd, 0, 0);
}
