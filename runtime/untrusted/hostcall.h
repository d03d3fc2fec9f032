/* The host side of an OCALL and the loop that serves one enclave thread. */
#ifndef SCONE_HOSTCALL_H
#define SCONE_HOSTCALL_H

#include <stdint.h>

#include <scone/enclave_abi.h>

#include "backend.h"

/* Run the system call o asks for, raw: the result or -errno, as `syscall`. */
long scone_hostcall(const struct scone_ocall *o);

struct scone_run_result {
	int done;                  /* 1: DONE with status; 0: ABORT */
	int status;
	char message[256];         /* ABORT: the enclave's message, or "" */
};

/*
 * enclave_abi.h protocol: enter tcs with op (START with the start args, or
 * ETHREAD with this thread's OCALL block), then serve the OCALLs made on
 * the block ocall (RESUME with each result) until DONE or ABORT.
 * exit_cycles TSC cycles are spent per exit and re-entry
 * (SCONE_SIM_EXIT_CYCLES). Returns 0, or a negative errno from the backend.
 */
int scone_run_thread(const struct scone_backend *b, struct scone_enclave *e, uint64_t tcs,
		     uint64_t op, uint64_t arg, struct scone_ocall *ocall, uint64_t exit_cycles,
		     struct scone_run_result *out);

#endif
