#ifndef KT_UTIL_H
#define KT_UTIL_H

#include <stdint.h>

#define KT_SYSFS "/sys/class/misc/scone/"

/* A counter of /sys/class/misc/scone/; -1 when it cannot be read. */
long long kt_counter(const char *name);
uint64_t kt_now_ns(void);
void kt_sleep_ns(uint64_t ns);

/* Report lines the QEMU test parses: "KT <name> ok|FAIL ..." */
extern int kt_failures;
void kt_check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
