/* The host half of signal forwarding (enclave_abi.h scone_signal_box). */
#ifndef SCONE_SIGNALS_H
#define SCONE_SIGNALS_H

#include <signal.h>

#include <scone/enclave_abi.h>
#include <scone/queue_abi.h>

/* The box to pass at START; area (may be NULL) has the futex that wakes a
 * sleeping ethread. */
struct scone_signal_box *scone_signals_init(struct scone_syscall_area *area);
/* Post sig and what the kernel said of it (info, may be NULL) to the box
 * and wake the enclave (a handler: no TLS, no libc). */
void scone_signals_post_info(int sig, const siginfo_t *info);
/* SCONE_OCALL_SIGFORWARD: start (on) or stop forwarding sig. */
long scone_signals_forward(long sig, long on);

#endif
