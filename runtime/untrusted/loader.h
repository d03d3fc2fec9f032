/* Building an enclave from the note through one backend (backend.h). */
#ifndef SCONE_LOADER_H
#define SCONE_LOADER_H

#include "backend.h"
#include "notecheck.h"

/* SECS parameters: SIZE and SSAFRAMESIZE from the note, MISCSELECT and XFRM
 * as the SIGSTRUCT asks, FLAGS = MODE64BIT plus DEBUG when the measured
 * config page says so (the SIGSTRUCT masks then check the choice). */
void scone_secs_from_note(const struct scone_note *n, struct scone_secs_params *p);

/*
 * create, add every run in the note's order, init (sgx-spec.md §1, §7).
 * Returns 0, or a negative errno with one sentence in err.
 */
int scone_load(const struct scone_backend *b, const struct scone_note *n,
	       struct scone_enclave **e, uint64_t *base, char *err, size_t errlen);

#endif
