/*
 * What the HW starter does after each return of __vdso_sgx_enter_enclave
 * (the kernel's arch/x86/include/uapi/asm/sgx.h, struct sgx_enclave_run):
 * the same exception path SIM plays (DESIGN.md §11, untrusted/sim.c
 * scone_sim_aex), with the CPU's AEX and the vDSO's exception fixup in
 * place of the host's signal handler. Pure: run and the state in, the next
 * step out; enter.c drives the vDSO with it, the tests drive it directly.
 *
 *   EENTER/ERESUME -> EEXIT                        the enclave's exit: done
 *   EENTER/ERESUME -> exception (an AEX; the vDSO  EENTER the same TCS: CSSA
 *     reports vector, error code, address)         is now > 0, so the entry
 *                                                  runs the exception code
 *   exception entry -> EEXIT ERESUME               ERESUME the interrupted
 *                                                  context from the SSA
 *   exception entry -> EEXIT UNHANDLED             end by the signal the
 *                                                  vector means, as natively
 *   exception entry -> another exception           no SSA frame left: end
 *
 * The vDSO's exception fields are the host kernel's word and need no trust
 * here: the enclave reads the vector from its own SSA (EXITINFO) and the
 * address from EXINFO, never from the host. They serve only the message
 * and the signal the process ends by.
 */
#include <signal.h>

#include "hw.h"

int scone_hw_signal_of(unsigned vector)
{
	switch (vector) {
	case 0: case 16: case 19: return SIGFPE;     /* #DE, #MF, #XM */
	case 6: return SIGILL;                         /* #UD */
	case 13: case 14: return SIGSEGV;              /* #GP, #PF */
	case 17: return SIGBUS;                        /* #AC */
	case 1: case 3: return SIGTRAP;                /* #DB, #BP */
	default: return 0;
	}
}

/* The vectors the enclave's exception entry handles (exception.c). */
static int handled_inside(unsigned vector)
{
	return vector == 0 || vector == 6 || vector == 13 || vector == 14 || vector == 16 ||
	       vector == 17 || vector == 19;
}

struct scone_hw_step scone_hw_route(const struct scone_sgx_enclave_run *run, uint64_t reason,
				    int in_exception, unsigned pending_vector)
{
	struct scone_hw_step s = { SCONE_HW_FATAL, 0, 0, 0 };
	unsigned v = run->exception_vector;

	if (run->function == SCONE_ENCLU_EEXIT) {
		if (!in_exception) {
			s.kind = SCONE_HW_DONE;
		} else if (reason == SCONE_EXIT_ERESUME) {
			s.kind = SCONE_HW_NEXT;
			s.leaf = SCONE_ENCLU_ERESUME;
		} else if (reason == SCONE_EXIT_UNHANDLED) {
			s.vector = pending_vector;
			s.signo = scone_hw_signal_of(pending_vector);
		} else if (reason == SCONE_EXIT_DONE || reason == SCONE_EXIT_ABORT) {
			s.kind = SCONE_HW_DONE;        /* the program ended meanwhile */
		}
		return s;
	}
	if (run->function != SCONE_ENCLU_EENTER && run->function != SCONE_ENCLU_ERESUME)
		return s;                              /* not the vDSO's ABI */
	s.vector = v;
	s.signo = scone_hw_signal_of(v);
	if (!in_exception && handled_inside(v)) {
		s.kind = SCONE_HW_NEXT;
		s.leaf = SCONE_ENCLU_EENTER;
		s.exception = 1;
	}
	return s;
}
