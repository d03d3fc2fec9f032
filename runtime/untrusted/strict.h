/* SIM that forbids what SGX forbids (DESIGN.md §11): system calls,
 * RDTSC under the SGX1 profile, CPUID where the CPU can fault it. */
#ifndef SCONE_STRICT_H
#define SCONE_STRICT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* For the enclave at [base, base + size) whose image is image (an ELF whose
 * symbols name functions in messages): the seccomp filter that kills a
 * system call made from the enclave range, on every thread. SIM only. */
int scone_strict_init(enum scone_profile p, uint64_t base, uint64_t size,
		      const uint8_t *image, size_t image_size, char *err, size_t errlen);
/* On a thread about to enter the enclave: RDTSC (SGX1 profile) and CPUID
 * fault from now on. */
void scone_strict_thread(void);
/* A SIGSEGV from RDTSC or CPUID (fault handler): 1 if host code ran it
 * (emulated here), 2 if enclave code did (a #UD for the enclave), else 0. */
int scone_strict_fault(siginfo_t *info, void *uc);
/* Enclave code's RDTSC or CPUID that nothing emulated: one line, SIGILL. */
_Noreturn void scone_strict_refuse(void *uc);
/* SIM's exit cost where RDTSC traps on this thread: cycles spent in a
 * PAUSE loop calibrated at start; 0 if the TSC can be read instead. */
int scone_strict_spend(uint64_t cycles);
/* Does this CPU fault CPUID on request (ARCH_GET_CPUID)? */
int scone_strict_cpuid_faulting(void);

#endif
