/*
 * Faults of enclave code. In SIM the enclave's code runs on this process's
 * threads, so the kernel delivers a fault it takes (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL with si_code > 0) to this process, on the faulting
 * thread. Forwarding it like an asynchronous signal cannot work: the
 * application's handler would run on another lthread while the faulting
 * instruction ran again and again (with one ethread nothing ever ran the
 * handler: a livelock). Running the handler on the faulting thread would
 * need the enclave to take the fault itself (an in-enclave exception
 * handler after the AEX, as SGX SDKs do): not done. So a fault ends the
 * process by its signal, as the kernel's default action does, and the
 * exit status is the native one. Two cases get a line on stderr first:
 *   - a fault in the guard page below an enclave thread's stack: a stack
 *     overflow, with the way to a larger stack (scone-gcc compiles with
 *     -fstack-clash-protection, so a large frame probes its pages in order
 *     and meets the guard instead of skipping it);
 *   - a fault the application has a handler for, which does not run.
 * A fault signal that is sent (kill, tgkill: si_code <= 0) takes the
 * enclave's disposition as any other signal does: forwarded, ignored, or
 * the default action.
 *
 * The handler runs on an enclave thread in SIM (the enclave's %fs): no
 * TLS, no libc, raw system calls, messages formatted in advance.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "faults.h"
#include "hwm.h"
#include "rawsys.h"
#include "signals.h"

#define PAGE 4096
#define ALT_STACK (64 << 10)

static const int fault_signals[] = { SIGILL, SIGBUS, SIGFPE, SIGSEGV };

const char *scone_faults_prog = "BINARY";

static struct {
	uint64_t lo, hi;          /* the guard page */
	char line[400];
	size_t len;
} guards[SCONE_MAX_TCS];
static unsigned nguards;
static volatile long disposition[NSIG];   /* SCONE_SIGFORWARD_* */
static struct { char text[160]; size_t len; } handled_line[NSIG];

int scone_faults_signal(long sig)
{
	return sig == SIGILL || sig == SIGBUS || sig == SIGFPE || sig == SIGSEGV;
}

void scone_faults_disposition(long sig, long mode)
{
	disposition[sig] = mode;
}

static void say(const char *s, size_t n)
{
	scone_raw4(SYS_write, 2, (long)s, (long)n, 0);
}

/* The kernel's default action: with SIG_DFL back in place, a fault recurs
 * when the instruction runs again; a sent signal is sent once more. */
static void default_action(int sig, int sent)
{
	struct { long handler, flags, restorer, mask; } dfl = { 0, 0, 0, 0 };
	scone_raw4(SYS_rt_sigaction, sig, (long)&dfl, 0, 8);
	if (sent)
		scone_raw4(SYS_kill, scone_raw4(SYS_getpid, 0, 0, 0, 0), sig, 0, 0);
}

static void on_fault(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	long mode = disposition[sig];
	if (info->si_code <= 0) {            /* sent, not a fault */
		if (mode == SCONE_SIGFORWARD_ON)
			scone_signals_post(sig);
		else if (mode != SCONE_SIGFORWARD_IGN)
			default_action(sig, 1);
		return;
	}
	uint64_t at = (uint64_t)(uintptr_t)info->si_addr;
	unsigned i = 0;
	while (sig == SIGSEGV && i < nguards && !(at >= guards[i].lo && at < guards[i].hi))
		i++;
	if (sig == SIGSEGV && i < nguards) {
		scone_hwm_write("stack-overflow", sig, (int)i);
		say(guards[i].line, guards[i].len);
	} else {
		scone_hwm_write("fault", sig, -1);
		if (mode == SCONE_SIGFORWARD_ON)
			say(handled_line[sig].text, handled_line[sig].len);
	}
	default_action(sig, 0);
}

int scone_faults_thread(char *err, size_t errlen)
{
	void *p = mmap(NULL, ALT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = { .ss_sp = p, .ss_size = ALT_STACK };
	if (p == MAP_FAILED || sigaltstack(&ss, NULL)) {
		snprintf(err, errlen, "cannot give an enclave thread a signal stack: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int scone_faults_init(uint64_t base, const struct scone_enclave_config *c, char *err, size_t errlen)
{
	/* The whole stack was its high-water mark: a quarter would not do, so
	 * four times it, as a power of two of at least 1 MiB. */
	uint64_t want = 1u << 20;
	while (want < 4 * c->stack_size)
		want <<= 1;
	char sug[24];
	if (want >= (1u << 30))
		snprintf(sug, sizeof sug, "%lluG", (unsigned long long)(want >> 30));
	else
		snprintf(sug, sizeof sug, "%lluM", (unsigned long long)(want >> 20));
	for (uint32_t i = 0; i < c->tcs_count && i < SCONE_MAX_TCS; i++) {
		uint64_t lo = base + c->threads[i].stack_lo - PAGE;
		guards[i].lo = lo;
		guards[i].hi = lo + PAGE;
		snprintf(guards[i].line, sizeof guards[i].line,
			 "[SCONE|ERROR] stack overflow in enclave thread %u: its stack is %llu KiB "
			 "(signed), all of it used; sign with --stack %s or more "
			 "(scone-sign sign --stack %s %s; scone-sign size finds the size from a run)\n",
			 i, (unsigned long long)(c->stack_size >> 10), sug, sug, scone_faults_prog);
		guards[i].len = strlen(guards[i].line);
	}
	nguards = c->tcs_count < SCONE_MAX_TCS ? c->tcs_count : SCONE_MAX_TCS;
	for (unsigned k = 0; k < sizeof fault_signals / sizeof *fault_signals; k++) {
		int sig = fault_signals[k];
		snprintf(handled_line[sig].text, sizeof handled_line[sig].text,
			 "[SCONE|ERROR] SIG%s in the enclave: the application's handler for it cannot run "
			 "there (a fault ends the process)\n", sigabbrev_np(sig));
		handled_line[sig].len = strlen(handled_line[sig].text);
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_fault;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, &sa, NULL)) {
			snprintf(err, errlen, "cannot catch signal %d: %s", sig, strerror(errno));
			return -1;
		}
	}
	return scone_faults_thread(err, errlen);
}
