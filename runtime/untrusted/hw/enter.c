/*
 * EENTER and EEXIT through the vDSO (sgx-spec.md §7): the exit handler
 * catches the enclave's RDI/RSI on every exit, and run.function tells an
 * EEXIT from a fault, since the vDSO returns 0 for both. A fault goes to the
 * enclave's exception entry and back by ERESUME as route.c decides.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw.h"

struct exit_regs {
	uint64_t rdi, rsi;
};

static int on_exit_from_enclave(long rdi, long rsi, long rdx, long rsp, long r8, long r9,
				struct scone_sgx_enclave_run *run)
{
	struct exit_regs *regs = (struct exit_regs *)run->user_data;

	(void)rdx, (void)rsp, (void)r8, (void)r9;
	regs->rdi = (uint64_t)rdi;
	regs->rsi = (uint64_t)rsi;
	return 0;                  /* <= 0: hand the value back, do not re-enter */
}

static const char *vector_name(unsigned int v)
{
	switch (v) {
	case 0: return "#DE divide error";
	case 6: return "#UD invalid opcode";
	case 13: return "#GP general protection";
	case 14: return "#PF page fault";
	case 16: return "#MF x87 error";
	case 17: return "#AC alignment check";
	case 19: return "#XM SIMD error";
	default: return "exception";
	}
}

int scone_hw_eenter(scone_vdso_sgx_enter_fn *vdso_enter, uint64_t tcs, uint64_t op,
		    uint64_t arg, uint64_t *reason, uint64_t *value, int *signo, char *err, size_t errlen)
{
	struct scone_sgx_enclave_run run;
	struct exit_regs regs = { 0, 0 };
	unsigned leaf = SCONE_ENCLU_EENTER, pending = 0;
	int in_exception = 0, rc;

	*signo = 0;
	for (;;) {
		memset(&run, 0, sizeof(run));
		run.tcs = tcs;
		run.user_handler = (uint64_t)(uintptr_t)on_exit_from_enclave;
		run.user_data = (uint64_t)(uintptr_t)&regs;
		rc = scone_hw_vdso_call(vdso_enter, op, arg, &run, leaf);
		if (rc < 0) {
			snprintf(err, errlen, "%s refused to enter the enclave (TCS 0x%llx): %s",
				 SCONE_HW_VDSO_ENTER, (unsigned long long)tcs, strerror(-rc));
			return rc;
		}
		struct scone_hw_step s = scone_hw_route(&run, regs.rdi, in_exception, pending);
		if (s.kind == SCONE_HW_DONE) {
			*reason = regs.rdi;
			*value = regs.rsi;
			return 0;
		}
		if (s.kind == SCONE_HW_NEXT) {
			leaf = s.leaf;
			in_exception = s.exception;
			if (s.exception)
				pending = s.vector;
			continue;
		}
		*signo = s.signo;
		if (run.function == SCONE_ENCLU_EEXIT)
			snprintf(err, errlen, "enclave fault in HW mode: %s (vector %u) not handled inside "
				 "the enclave, on TCS 0x%llx", vector_name(s.vector), s.vector,
				 (unsigned long long)tcs);
		else
			snprintf(err, errlen,
				 "enclave fault in HW mode: %s (vector %u, error code 0x%x) at address 0x%llx, "
				 "during %s on TCS 0x%llx%s",
				 vector_name(run.exception_vector), run.exception_vector,
				 run.exception_error_code, (unsigned long long)run.exception_addr,
				 run.function == SCONE_ENCLU_ERESUME ? "ERESUME" : "EENTER",
				 (unsigned long long)tcs, in_exception ? " (in the exception entry)" : "");
		return -EFAULT;
	}
}
