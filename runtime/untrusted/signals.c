/*
 * Signals for the enclave (issue 5): the starter catches only the signals
 * whose handlers the application installed (the enclave asks, signal by
 * signal) and posts them to the box; every other signal keeps the
 * disposition the enclave mirrored (SIG_DFL or SIG_IGN), so Ctrl-C without
 * a handler ends the process as the kernel's default action does.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faults.h"
#include "hwm.h"
#include "rawsys.h"
#include "signals.h"

static struct scone_signal_box box __attribute__((aligned(64)));
static struct scone_syscall_area *wake_area;

/* In SIM this may run on an ethread inside the enclave, whose %fs is the
 * enclave thread's: no TLS here (errno, glibc's syscall()), a raw call. */
void scone_signals_post(int sig)
{
	__atomic_fetch_or(&box.pending, 1ull << (sig - 1), __ATOMIC_SEQ_CST);
	if (wake_area) {
		__atomic_fetch_add(&wake_area->enclave_wake.value, 1, __ATOMIC_SEQ_CST);
		scone_raw4(SYS_futex, (long)&wake_area->enclave_wake.value, FUTEX_WAKE_PRIVATE, INT_MAX, 0);
	}
}

long scone_signals_forward(long sig, long on)
{
	if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
		return -EINVAL;
	if (scone_faults_signal(sig)) {     /* the host keeps its handler: faults.c */
		scone_faults_disposition(sig, on);
		return 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? scone_signals_post : SIG_DFL;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction((int)sig, &sa, NULL))
		return -errno;
	if (!on)
		scone_hwm_rearm((int)sig);
	return 0;
}

struct scone_signal_box *scone_signals_init(struct scone_syscall_area *area)
{
	wake_area = area;
#ifdef SCONE_HOSTILE
	/* tests/threads: a host that forges SIGUSR2, registered or not. */
	const char *h = getenv("SCONE_HOSTILE");
	if (h && !strcmp(h, "signal"))
		scone_signals_forward(SIGUSR2, 1);
#endif
	return &box;
}
