/*
 * The HW backend's internals (see backend.h for the interface). It drives
 * real SGX through the Linux driver only: /dev/sgx_enclave ioctls and the
 * vDSO entry point, no Intel runtime. This machine has no SGX: everything
 * except the ioctls and ENCLU themselves is tested here (UAPI numbers and
 * layouts, vDSO lookup, XFRM choice, availability messages, and the entry
 * path against a stand-in for the vDSO function).
 */
#ifndef SCONE_HW_H
#define SCONE_HW_H

#include <stddef.h>
#include <stdint.h>

#include "../../sgxcrypto/sha256.h"
#include "../backend.h"
#include "sgx_uapi.h"
#include "../../include/scone/enclave_abi.h"

#define SCONE_HW_VDSO_ENTER "__vdso_sgx_enter_enclave"
#define SCONE_HW_VDSO_VERSION "LINUX_2.6"

/* Device nodes tried in order: the upstream name, then the DCAP driver's. */
extern const char *const scone_hw_device_paths[];

struct scone_hw_run {              /* one ADD_PAGES call, mapped after EINIT */
	uint64_t offset;
	uint64_t bytes;
	int prot;
};

struct scone_enclave {
	int fd;
	uint64_t base;
	struct scone_secs_params secs;
	scone_vdso_sgx_enter_fn *vdso_enter;
	struct sha256_ctx mr;      /* the loader's own MRENCLAVE, as the CPU builds it */
	uint8_t mrenclave[32];
	int initialized;
	struct scone_hw_run *runs;
	size_t nruns, cap;
};

/*
 * Open the first device of paths (NULL-terminated) that exists, O_RDWR.
 * Returns the fd, or -errno with one sentence in err naming every path tried.
 */
int scone_hw_open_device(const char *const *paths, char *err, size_t errlen);
/* available() with explicit device paths (tests pass their own). */
int scone_hw_probe(const char *const *paths, char *err, size_t errlen);

/*
 * EENTER through vdso_enter at TCS address tcs with RDI = op, RSI = arg, and
 * wait for the EEXIT: 0 with the enclave's RDI/RSI, or -EFAULT with the
 * fault described in err, or the vDSO's negative return.
 */
int scone_hw_eenter(scone_vdso_sgx_enter_fn *vdso_enter, uint64_t tcs, uint64_t op,
		    uint64_t arg, uint64_t *reason, uint64_t *value, int *signo, char *err, size_t errlen);

/*
 * enter.S: calls vdso_enter(op, arg, 0, leaf, 0, 0, run) keeping every
 * register the C ABI calls preserved (the enclave scrubs them) and MXCSR/x87
 * control words.
 */
int scone_hw_vdso_call(scone_vdso_sgx_enter_fn *vdso_enter, uint64_t op, uint64_t arg,
		       struct scone_sgx_enclave_run *run, unsigned leaf);

/*
 * route.c: the next step after the vDSO returned 0 with run filled. reason
 * is the enclave's RDI when run->function is EEXIT; in_exception says the
 * call was the exception entry (an EENTER after an AEX), pending_vector the
 * vector that sent it there.
 */
enum scone_hw_kind {
	SCONE_HW_DONE,             /* hand reason/value to the caller */
	SCONE_HW_NEXT,             /* call the vDSO again with leaf */
	SCONE_HW_FATAL,            /* end the process: by signo if not 0 */
};
struct scone_hw_step {
	enum scone_hw_kind kind;
	unsigned leaf;             /* NEXT: SCONE_ENCLU_EENTER or _ERESUME */
	int exception;             /* NEXT: the call is the exception entry */
	int signo;                 /* the signal the vector means, or 0 */
	unsigned vector;           /* FATAL and exception entries: the vector */
};
struct scone_hw_step scone_hw_route(const struct scone_sgx_enclave_run *run, uint64_t reason,
				    int in_exception, unsigned pending_vector);
/* SIGFPE for #DE/#MF/#XM, SIGILL for #UD, SIGSEGV for #GP/#PF, SIGBUS for
 * #AC, SIGTRAP for #DB/#BP, else 0: as Linux maps them natively. */
int scone_hw_signal_of(unsigned vector);

#endif
