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
 * exit status is the native one. Three cases get a line on stderr first:
 *   - a fault in the guard page below an enclave thread's stack: a stack
 *     overflow, with the way to a larger stack (scone-gcc compiles with
 *     -fstack-clash-protection, so a large frame probes its pages in order
 *     and meets the guard instead of skipping it);
 *   - a fault the application has a handler for, which does not run;
 *   - a fault of enclave code on host memory (an address outside the
 *     enclave above page zero, or a non-canonical one): the enclave
 *     checks every host range it is given, but only the host knows what
 *     it mapped there, so a host that hands it unmapped memory ends it.
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
#include <ucontext.h>

#include "faults.h"
#include "rawsys.h"
#include "signals.h"

#define PAGE 4096
#define ALT_STACK (64 << 10)

static const int fault_signals[] = { SIGILL, SIGBUS, SIGFPE, SIGSEGV };

static struct {
	uint64_t lo, hi;          /* the guard page */
	char line[200];
	size_t len;
} guards[SCONE_MAX_TCS];
static unsigned nguards;
static uint64_t enclave_lo, enclave_hi;
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

/* The host-memory line, formatted here: no stdio in the handler. */
static size_t put(char *line, size_t n, const char *s)
{
	size_t k = strlen(s);
	memcpy(line + n, s, k);
	return n + k;
}

static void say_host_fault(int sig, uint64_t at, int gp)
{
	static const char hex[] = "0123456789abcdef";
	char line[200];
	size_t n = put(line, 0, sig == SIGBUS ? "[SCONE|ERROR] SIGBUS" : "[SCONE|ERROR] SIGSEGV");
	n = put(line, n, gp ? " in the enclave at a non-canonical address" : " in the enclave at host address 0x");
	for (int d = 60; !gp && d >= 0; d -= 4)
		if (at >> d || !d)
			line[n++] = hex[(at >> d) & 15];
	n = put(line, n, ": memory the host gave it is not there; the host broke the enclave ABI\n");
	say(line, n);
}

static void on_fault(int sig, siginfo_t *info, void *uc)
{
	long mode = disposition[sig];
	if (info->si_code <= 0) {            /* sent, not a fault */
		if (mode == SCONE_SIGFORWARD_ON)
			scone_signals_post_info(sig, info);
		else if (mode != SCONE_SIGFORWARD_IGN)
			default_action(sig, 1);
		return;
	}
	uint64_t at = (uint64_t)(uintptr_t)info->si_addr;
	unsigned i = 0;
	while (sig == SIGSEGV && i < nguards && !(at >= guards[i].lo && at < guards[i].hi))
		i++;
	uint64_t rip = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	int in_enclave = rip >= enclave_lo && rip < enclave_hi;
	int gp = info->si_code == SI_KERNEL;        /* #GP: a non-canonical address */
	if (sig == SIGSEGV && i < nguards)
		say(guards[i].line, guards[i].len);
	else if ((sig == SIGSEGV || sig == SIGBUS) && in_enclave &&
		 (gp || ((at < enclave_lo || at >= enclave_hi) && at >= PAGE)))
		say_host_fault(sig, at, gp);
	else if (mode == SCONE_SIGFORWARD_ON)
		say(handled_line[sig].text, handled_line[sig].len);
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
	for (uint32_t i = 0; i < c->tcs_count && i < SCONE_MAX_TCS; i++) {
		uint64_t lo = base + c->threads[i].stack_lo - PAGE;
		guards[i].lo = lo;
		guards[i].hi = lo + PAGE;
		snprintf(guards[i].line, sizeof guards[i].line,
			 "[SCONE|ERROR] stack overflow in enclave thread %u: its stack is %llu KiB "
			 "(signed); build with a larger one, e.g. scone-gcc --scone-stack=8M\n",
			 i, (unsigned long long)(c->stack_size >> 10));
		guards[i].len = strlen(guards[i].line);
	}
	nguards = c->tcs_count < SCONE_MAX_TCS ? c->tcs_count : SCONE_MAX_TCS;
	enclave_lo = base;
	enclave_hi = base + c->enclave_size;
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
