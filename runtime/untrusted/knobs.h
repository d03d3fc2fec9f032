/* The starter's environment knobs for system calls (DESIGN.md §5). */
#ifndef SCONE_KNOBS_H
#define SCONE_KNOBS_H

#include <stddef.h>
#include <stdint.h>

struct scone_knobs {
	int async;                 /* SCONE_SYSCALL=async (default) | sync | adaptive (async too) */
	int adaptive;              /* SCONE_SYSCALL=adaptive: exit or queue per call */
	uint32_t queues;           /* SCONE_QUEUES: queue pairs, one sthread each */
	uint32_t slots;            /* SCONE_SLOTS: entries per ring, a power of two */
	uint32_t sspins;           /* SCONE_SSPINS: empty polls before an sthread backs off */
	uint32_t ssleep_us;        /* SCONE_SSLEEP: microseconds of back-off before it sleeps */
	uint32_t espins;           /* SCONE_ESPINS: polls before an idle ethread sleeps */
	int kmod_mode;             /* SCONE_KMOD: enum scone_kmod_mode */
	uint32_t ethreads;         /* SCONE_ETHREADS: OS threads running the enclave's scheduler */
};

/* Parse the knobs from the environment; 0, or -1 with one line in err.
 * tcs: the signed TCS count, which bounds SCONE_ETHREADS (default
 * min(online CPUs, tcs)). */
int scone_knobs_parse(struct scone_knobs *k, uint32_t tcs, char *err, size_t errlen);

#endif
