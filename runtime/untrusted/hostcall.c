/* SCONE-sync, host side: run the enclave's system call, go back in. */
#include <string.h>
#include <x86intrin.h>

#include "hostcall.h"
#include "signals.h"

long scone_hostcall(const struct scone_ocall *o)
{
	long ret;
	register long r10 __asm__("r10") = o->args[3];
	register long r8 __asm__("r8") = o->args[4];
	register long r9 __asm__("r9") = o->args[5];
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(o->nr), "D"(o->args[0]), "S"(o->args[1]), "d"(o->args[2]),
			       "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

/* The paper's cost of an enclave exit plus re-entry, emulated in SIM. */
static void spend(uint64_t cycles)
{
	uint64_t t0 = __rdtsc();
	while (__rdtsc() - t0 < cycles)
		_mm_pause();
}

int scone_run_thread(const struct scone_backend *b, struct scone_enclave *e, uint64_t tcs,
		     uint64_t op, uint64_t arg, struct scone_ocall *ocall, uint64_t exit_cycles,
		     struct scone_run_result *out)
{
	memset(out, 0, sizeof *out);
	for (;;) {
		uint64_t reason = 0, value = 0;
		int rc = b->enter(e, tcs, op, arg, &reason, &value);
		if (rc)
			return rc;
		switch (reason) {
		case SCONE_EXIT_OCALL:
			/* Only this thread's block: anything else is not ours to run. */
			if (value != (uint64_t)(uintptr_t)ocall) {
				strcpy(out->message, "the enclave asked for a system call outside its OCALL block");
				return 0;
			}
			ocall->ret = ocall->nr == SCONE_OCALL_SIGFORWARD
				? scone_signals_forward(ocall->args[0], ocall->args[1]) : scone_hostcall(ocall);
			if (exit_cycles)
				spend(exit_cycles);
			op = SCONE_ECALL_RESUME;
			arg = (uint64_t)ocall->ret;
			break;
		case SCONE_EXIT_DONE:
			out->done = 1;
			out->status = (int)(value & 0xff);
			return 0;
		case SCONE_EXIT_ABORT:
			if (value) {
				const struct scone_abort *a = (const void *)(uintptr_t)value;
				memcpy(out->message, a->message, sizeof out->message - 1);
			}
			return 0;
		default:
			strcpy(out->message, "the enclave exited with an unknown reason");
			return 0;
		}
	}
}
