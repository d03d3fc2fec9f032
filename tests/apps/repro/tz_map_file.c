/* musl reads a zoneinfo file with mmap(MAP_SHARED, PROT_READ) (__map_file);
 * the enclave refuses shared file mappings, so localtime silently uses UTC. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
	time_t t = 1704067200; /* 2024-01-01 00:00:00 UTC */
	struct tm tm;
	char buf[64];
	setenv("TZ", "/usr/share/zoneinfo/Europe/Berlin", 1);
	tzset();
	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%H:%M %Z %z", &tm);
	puts(buf);
	return 0;
}
