#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int kt_failures;

long long kt_counter(const char *name)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KT_SYSFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void kt_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000u,
			       .tv_nsec = ns % 1000000000u };

	while (nanosleep(&ts, &ts))
		;
}

void kt_check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("KT %s %s", name, ok ? "ok" : "FAIL");
	if (fmt && *fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
	if (!ok)
		kt_failures++;
}
