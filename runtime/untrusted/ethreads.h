/* The OS threads that run the enclave's scheduler on TCS 1..n-1. */
#ifndef SCONE_ETHREADS_H
#define SCONE_ETHREADS_H

#include <stdint.h>

#include "backend.h"

/* Start n-1 threads, thread i entering tcs[i] with SCONE_ECALL_ETHREAD and
 * serving its own OCALLs; the process ends when any of them sees DONE or
 * ABORT. 0, or -1 with one line in err. */
int scone_ethreads_start(const struct scone_backend *b, struct scone_enclave *e,
			 const uint64_t *tcs, uint32_t n, uint64_t exit_cycles,
			 char *err, size_t errlen);

#endif
