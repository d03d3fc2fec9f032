/* SCONE_SIM_PROFILE (DESIGN.md §11): which CPU SIM behaves like. */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "profile.h"

int scone_profile_parse(enum scone_profile *out, char *err, size_t errlen)
{
	const char *v = getenv("SCONE_SIM_PROFILE");
	if (!v || !*v || !strcasecmp(v, "sgx1"))
		*out = SCONE_PROFILE_SGX1;
	else if (!strcasecmp(v, "sgx2"))
		*out = SCONE_PROFILE_SGX2;
	else if (!strcasecmp(v, "lax"))
		*out = SCONE_PROFILE_LAX;
	else {
		snprintf(err, errlen, "SCONE_SIM_PROFILE=%s: expected sgx1 (the default), sgx2 or lax", v);
		return -1;
	}
	return 0;
}

int scone_profile_hw_rdtsc(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(0x12, 0, &a, &b, &c, &d))
		return 0;
	return (a & 2) != 0;
}
