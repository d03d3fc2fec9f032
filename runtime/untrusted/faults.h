/* Faults of enclave code (SIGILL, SIGBUS, SIGFPE, SIGSEGV from the CPU). */
#ifndef SCONE_FAULTS_H
#define SCONE_FAULTS_H

#include <stdint.h>

#include <scone/enclave_abi.h>

/* Catch the fault signals in every thread; name a fault in the guard page
 * below a stack of config's threads (enclave at base). On the calling
 * thread, also give it a stack to handle them on. 0, or -1 with one line. */
int scone_faults_init(uint64_t base, const struct scone_enclave_config *config, char *err, size_t errlen);
/* A stack for the fault handler on the calling thread (one that will enter
 * the enclave): a stack overflow leaves no room on the stack itself. */
int scone_faults_thread(char *err, size_t errlen);
/* The binary's name in the stack-overflow line; set before scone_faults_init. */
extern const char *scone_faults_prog;
/* Is sig one of them? */
int scone_faults_signal(long sig);
/* The enclave's disposition of fault signal sig (SCONE_SIGFORWARD_*). */
void scone_faults_disposition(long sig, long mode);

#endif
