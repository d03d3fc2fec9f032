/* The host half of signal forwarding (enclave_abi.h scone_signal_box). */
#ifndef SCONE_SIGNALS_H
#define SCONE_SIGNALS_H

#include <scone/enclave_abi.h>
#include <scone/queue_abi.h>

/* The box to pass at START; area (may be NULL) has the futex that wakes a
 * sleeping ethread. */
struct scone_signal_box *scone_signals_init(struct scone_syscall_area *area);
/* Post sig to the box and wake the enclave (a handler: no TLS, no libc). */
void scone_signals_post(int sig);
/* SCONE_OCALL_SIGFORWARD: start (on) or stop forwarding sig. */
long scone_signals_forward(long sig, long on);

#endif
