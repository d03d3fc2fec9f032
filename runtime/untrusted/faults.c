/*
 * Faults of enclave code. In SIM the enclave's code runs on this process's
 * threads, so the kernel delivers a fault it takes (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL with si_code > 0) to this process, on the faulting
 * thread, like an AEX on hardware. It takes the hardware's path
 * (sim.c scone_sim_aex): the registers into the SSA, an exception entry
 * into the enclave, which emulates RDTSC/CPUID or runs the application's
 * own handler on the faulting thread (runtime/trusted/exception.c), then
 * ERESUME. When the enclave does not handle it, the process ends by the
 * signal, as the kernel's default action does, and the exit status is the
 * native one; a fault in the guard page below an enclave thread's stack
 * (a stack overflow) gets a line on stderr first, with the way to a larger
 * stack (scone-gcc compiles with -fstack-clash-protection, so a large
 * frame probes its pages in order and meets the guard instead of skipping
 * it).
 * A fault of enclave code on host memory (an address outside the enclave
 * above page zero, or a non-canonical one) that the enclave does not handle
 * gets a line too: the enclave checks every host range it is given, but
 * only the host knows what it mapped there, so a host that hands it
 * unmapped memory ends it.
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
#include <sys/ucontext.h>

#include "faults.h"
#include "hwm.h"
#include "rawsys.h"
#include "signals.h"
#include "sim.h"
#include "strict.h"

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
static uint64_t enclave_lo, enclave_hi;
static volatile long disposition[NSIG];   /* SCONE_SIGFORWARD_* */

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
	int strict = sig == SIGSEGV ? scone_strict_fault(info, uc) : 0;
	if (strict == 1)
		return;                          /* host code's RDTSC, CPUID: strict.c */
	/* The vector the CPU would report, and the AEX path into the enclave
	 * (sim.c): its handler, or its emulation of RDTSC/CPUID. */
	uint64_t at = (uint64_t)(uintptr_t)info->si_addr;
	uint32_t errcd = (uint32_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR];
	unsigned vector = sig == SIGFPE ? (info->si_code == FPE_INTDIV || info->si_code == FPE_INTOVF
					   ? SCONE_VEC_DE : SCONE_VEC_XM)
		: sig == SIGILL || strict == 2 ? SCONE_VEC_UD
		: sig == SIGBUS && info->si_code == BUS_ADRALN ? SCONE_VEC_AC
		: info->si_code == SI_KERNEL ? SCONE_VEC_GP : SCONE_VEC_PF;
	if (scone_sim_aex(uc, vector, vector == SCONE_VEC_PF ? at : 0, errcd))
		return;
	if (strict == 2)
		scone_strict_refuse(uc);
	unsigned i = 0;
	while (sig == SIGSEGV && i < nguards && !(at >= guards[i].lo && at < guards[i].hi))
		i++;
	uint64_t rip = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	int in_enclave = rip >= enclave_lo && rip < enclave_hi;
	int gp = info->si_code == SI_KERNEL;        /* #GP: a non-canonical address */
	if (sig == SIGSEGV && i < nguards) {
		scone_hwm_write("stack-overflow", sig, (int)i);
		say(guards[i].line, guards[i].len);
	} else {
		scone_hwm_write("fault", sig, -1);
		if ((sig == SIGSEGV || sig == SIGBUS) && in_enclave &&
		    (gp || ((at < enclave_lo || at >= enclave_hi) && at >= PAGE)))
			say_host_fault(sig, at, gp);
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
	enclave_lo = base;
	enclave_hi = base + c->enclave_size;
	for (unsigned k = 0; k < sizeof fault_signals / sizeof *fault_signals; k++) {
		int sig = fault_signals[k];
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
