/*
 * The runtime's log lines, "[SCONE|LEVEL] message", on the host's stderr.
 * SCONE_LOG (copied in with the environment at START) picks the level:
 * 0|off, 1|error, 2|warn (default), 3|info, 4|debug. A tiny formatter
 * (%s %d %ld %u %lu %lx %zu): libc's printf would re-enter the hook and
 * take stdio locks the program may hold.
 */
#include <stdarg.h>

#include "client.h"

static const struct { const char *name; int level; } levels[] = {
	{ "off", SCONE_LOG_OFF }, { "none", SCONE_LOG_OFF },
	{ "error", SCONE_LOG_ERROR }, { "fatal", SCONE_LOG_ERROR },
	{ "warn", SCONE_LOG_WARN }, { "warning", SCONE_LOG_WARN },
	{ "info", SCONE_LOG_INFO }, { "debug", SCONE_LOG_DEBUG },
	{ "trace", SCONE_LOG_DEBUG },
};

int __scone_log_parse(const char *v)
{
	if (!v || !*v)
		return SCONE_LOG_WARN;
	if (v[0] >= '0' && v[0] <= '9' && !v[1])
		return v[0] - '0' > SCONE_LOG_DEBUG ? SCONE_LOG_DEBUG : v[0] - '0';
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		const char *a = levels[i].name, *b = v;
		while (*a && (*b | 0x20) == *a)
			a++, b++;
		if (!*a && !*b)
			return levels[i].level;
	}
	return SCONE_LOG_WARN;
}

struct buf {
	char s[512];
	size_t n;
};

static void put(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && b->n < sizeof b->s - 1; i++)
		b->s[b->n++] = s[i];
}

static void put_num(struct buf *b, unsigned long v, int neg, unsigned radix)
{
	char t[24];
	int i = sizeof t;
	do {
		t[--i] = "0123456789abcdef"[v % radix];
		v /= radix;
	} while (v);
	if (neg)
		t[--i] = '-';
	put(b, t + i, sizeof t - i);
}

static const char *tag(int level)
{
	switch (level) {
	case SCONE_LOG_ERROR: return "[SCONE|ERROR] ";
	case SCONE_LOG_WARN: return "[SCONE|WARN] ";
	case SCONE_LOG_INFO: return "[SCONE|INFO] ";
	default: return "[SCONE|DEBUG] ";
	}
}

static void vformat(struct buf *b, const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(b, p, 1);
			continue;
		}
		int lng = 0;
		while (p[1] == 'l' || p[1] == 'z')
			lng = 1, p++;
		switch (*++p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			s = s ? s : "(null)";
			put(b, s, __scone_strlen(s));
			break;
		}
		case 'd': {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(b, v < 0 ? -(unsigned long)v : (unsigned long)v, v < 0, 10);
			break;
		}
		case 'u':
			put_num(b, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 0, 10);
			break;
		case 'x':
			put_num(b, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 0, 16);
			break;
		case '%':
			put(b, "%", 1);
			break;
		default:
			p--;
			break;
		}
	}
}

void __scone_log(int level, const char *fmt, ...)
{
	if (level > __scone_rt.log_level || !__scone_rt.host_ocall)
		return;
	struct buf b = { .n = 0 };
	const char *t = tag(level);
	put(&b, t, __scone_strlen(t));
	va_list ap;
	va_start(ap, fmt);
	vformat(&b, fmt, ap);
	va_end(ap);
	b.s[b.n++] = '\n';
	const long a[6] = { 2, (long)b.s, (long)b.n };
	__scone_external(1 /* write */, a);
}

_Noreturn void __scone_abortf(const char *fmt, ...)
{
	struct buf b = { .n = 0 };
	va_list ap;
	va_start(ap, fmt);
	vformat(&b, fmt, ap);
	va_end(ap);
	b.s[b.n] = 0;
	__scone_abort(b.s);
}
