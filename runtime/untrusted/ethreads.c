/*
 * ethreads 1..n-1 (issue 5): one OS thread per further TCS, each entering
 * it with ETHREAD and serving its own OCALL block. They begin before the
 * enclave's START has finished: the enclave holds them until its scheduler
 * runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ethreads.h"
#include "faults.h"
#include "hostcall.h"
#include "hostile.h"
#include "strict.h"
#include "hwm.h"

struct ethread {
	struct scone_ocall ocall;          /* first: 64-byte aligned with the struct */
	const struct scone_backend *b;
	struct scone_enclave *e;
	uint64_t tcs, exit_cycles;
} __attribute__((aligned(64)));

static void *run(void *arg)
{
	struct ethread *t = arg;
	struct scone_run_result r;
	char err[200];
	if (scone_faults_thread(err, sizeof err)) {
		fprintf(stderr, "scone: error: %s\n", err);
		_exit(2);
	}
	scone_strict_thread();
	int rc = scone_run_thread(t->b, t->e, t->tcs, SCONE_ECALL_ETHREAD,
				  scone_hostile_ethread((uint64_t)(uintptr_t)&t->ocall), &t->ocall, t->exit_cycles, &r);
	if (rc) {
		fprintf(stderr, "scone: error: entering the enclave on an ethread failed (error %d)\n", rc);
		_exit(2);
	}
	if (r.done) {
		scone_hwm_write("exit", r.status, -1);
		_exit(r.status);
	}
	scone_hwm_write("abort", 1, -1);
	fprintf(stderr, "scone: enclave aborted: %s\n",
		r.message[0] ? r.message : "it refused an ethread's entry (SCONE_ETHREADS above its TCS count?)");
	_exit(1);
}

int scone_ethreads_start(const struct scone_backend *b, struct scone_enclave *e,
			 const uint64_t *tcs, uint32_t n, uint64_t exit_cycles,
			 char *err, size_t errlen)
{
	if (n < 2)
		return 0;
	struct ethread *ts = aligned_alloc(64, sizeof *ts * n);
	if (!ts) {
		snprintf(err, errlen, "out of memory for %u ethreads", n);
		return -1;
	}
	memset(ts, 0, sizeof *ts * n);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (uint32_t i = 1; i < n; i++) {
		ts[i] = (struct ethread){ .b = b, .e = e, .tcs = tcs[i], .exit_cycles = exit_cycles };
		pthread_t th;
		int rc = pthread_create(&th, &attr, run, &ts[i]);
		if (rc) {
			snprintf(err, errlen, "cannot start ethread %u: %s; lower SCONE_ETHREADS", i, strerror(rc));
			return -1;
		}
	}
	return 0;
}
