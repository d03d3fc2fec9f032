/* SCONE_SIM_PROFILE: what SIM lets enclave code do (DESIGN.md §11). */
#ifndef SCONE_PROFILE_H
#define SCONE_PROFILE_H

#include <stddef.h>

enum scone_profile {
	SCONE_PROFILE_SGX1,   /* default: RDTSC, CPUID and SYSCALL fault, as on SGX1 */
	SCONE_PROFILE_SGX2,   /* RDTSC legal inside, as on SGX2 */
	SCONE_PROFILE_LAX,    /* nothing forbidden: for debugging only */
};

/* From SCONE_SIM_PROFILE=sgx1|sgx2|lax (sgx1 if unset); -1 and err if bad. */
int scone_profile_parse(enum scone_profile *out, char *err, size_t errlen);

/* RDTSC legal inside an enclave of this CPU: CPUID.(12H,0):EAX bit 1 (SGX2). */
int scone_profile_hw_rdtsc(void);

#endif
