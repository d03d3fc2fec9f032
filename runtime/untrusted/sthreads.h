/*
 * The syscall area and its sthreads (queue_abi.h): host memory for the
 * queue pairs and the arena, and one thread per pair that executes the
 * requests the enclave posts.
 */
#ifndef SCONE_STHREADS_H
#define SCONE_STHREADS_H

#include <stddef.h>
#include <stdint.h>

#include <scone/queue_abi.h>

#include "knobs.h"

struct scone_syscalls {
	struct scone_syscall_area *area;
	void *pairs;
	size_t pairs_bytes, arena_bytes;
	int kmod_fd;               /* -1: user-space back-off */
};

/*
 * Map the area for tcs_count enclave threads, register the pairs with the
 * module if k says so, start the sthreads (async only). Returns 0, or -1
 * with one line in err.
 */
int scone_syscalls_start(struct scone_syscalls *s, const struct scone_knobs *k,
			 uint32_t tcs_count, char *err, size_t errlen);

/* Serve pair qp forever (sthreads.c); exported for the hostile-host build. */
struct scone_sthread;
void *scone_sthread_main(void *arg);

#endif
