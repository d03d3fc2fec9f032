/* The SIM backend's pieces that tests and the loader reach directly. */
#ifndef SCONE_SIM_H
#define SCONE_SIM_H

#include <stdint.h>

#include "backend.h"

struct scone_sim_entry {           /* offsets fixed by sim_enter.S */
	uint64_t tcs, entry, fs, gs, op, arg;
	uint64_t reason, value;
	uint64_t host_fs, host_gs;
	uint64_t cssa;             /* RAX at entry: > 0 is an exception entry */
};

uint64_t scone_sim_eenter(struct scone_sim_entry *c) __attribute__((visibility("hidden")));

/*
 * An exception of enclave code, in the host's handler for the signal it
 * raised (uc its ucontext): AEX as the CPU does it (the interrupted
 * registers into the thread's SSA frame with EXITINFO = vector and, with
 * EXINFO, maddr/errcd; CSSA + 1), EENTER at the exception entry, and, if
 * the enclave handled it, ERESUME from the SSA (into uc). 1 if handled, 0
 * if not (or if this was not enclave code).
 */
int scone_sim_aex(void *uc, unsigned vector, uint64_t maddr, uint32_t errcd);

/* The measurement alone (ECREATE/EADD/EEXTEND in C, no memory): SCONE_HASH. */
extern const struct scone_backend scone_backend_measure;

/* A read-only region of zero pages to pass as add()'s src for zero runs;
 * the SIM backend recognises it and leaves the enclave pages untouched. */
const void *scone_zero_src(uint64_t bytes);

/*
 * If b is the SIM or the measure backend, hash r alongside the measurement
 * of the pages e adds from now on (SHA-NI does two chains in the time of
 * one) and return 1; r NULL ends that. Other backends: 0, nothing done.
 */
struct sha256_rider;
int scone_sim_ride(const struct scone_backend *b, struct scone_enclave *e, struct sha256_rider *r);

#endif
