/* SCONE-sync, host side: run the enclave's system call, go back in. */
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <x86intrin.h>

#include "dcapquote.h"
#include "hostcall.h"
#include "hostile.h"
#include "simquote.h"
#include "rawsys.h"
#include "signals.h"
#include "strict.h"

/*
 * Credential calls. Linux keeps credentials per thread, and the
 * enclave's calls run on whichever host thread serves them (an sthread,
 * or an ethread for a SCONE-sync exit): a raw setgid changes that one. So a
 * credential call is broadcast to every thread of the process, as glibc's
 * own wrappers do. glibc's broadcast cannot be used: its handler finds its
 * thread through %fs, which in SIM is the enclave's while an ethread runs
 * inside, so it would write into enclave memory and never acknowledge.
 * This handler uses no TLS, no errno, only raw system calls.
 *
 * The signal is 34, musl's SIGSYNCCALL: the enclave never asks the host to
 * forward musl's own signals (32-34), so no application handler can claim
 * it on the host.
 *
 * The enclave repeats each call on every enclave thread (musl's
 * __synccall); a repeat of the last broadcast call finds every host thread
 * already changed, and only the caller's thread runs it again.
 */
#define SIG_SETID 34

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct { long nr, a0, a1, a2; } cmd, last;   /* under lock */
static int left;                 /* threads yet to run cmd */
static long failed;              /* first error a thread met */
static long pid;

static int setid_call(long nr)
{
	switch (nr) {
	case SYS_setuid: case SYS_setgid: case SYS_setreuid: case SYS_setregid:
	case SYS_setgroups: case SYS_setresuid: case SYS_setresgid:
		return 1;
	}
	return 0;
}

static void apply(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	/* Only our own tgkill: not another process, not a forged sigqueue. */
	if (si->si_code != SI_TKILL || si->si_pid != pid)
		return;
	long r = scone_raw4(cmd.nr, cmd.a0, cmd.a1, cmd.a2, 0);
	if (r)
		__atomic_compare_exchange_n(&failed, &(long){ 0 }, r, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (__atomic_sub_fetch(&left, 1, __ATOMIC_SEQ_CST) == 0)
		scone_raw4(SYS_futex, (long)&left, FUTEX_WAKE_PRIVATE, 1, 0);
}

/* Every other thread runs cmd: 0, or non-zero if one could not. */
static long broadcast(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = apply;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIG_SETID, &sa, NULL))
		return -1;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -2;
	long self = scone_raw4(SYS_gettid, 0, 0, 0, 0);
	failed = 0;
	__atomic_store_n(&left, 1, __ATOMIC_SEQ_CST);       /* held until all are signalled */
	for (struct dirent *e; (e = readdir(d));) {
		long tid = strtol(e->d_name, NULL, 10);
		if (tid <= 0 || tid == self)
			continue;
		__atomic_add_fetch(&left, 1, __ATOMIC_SEQ_CST);
		if (scone_raw4(SYS_tgkill, pid, tid, SIG_SETID, 0))
			__atomic_sub_fetch(&left, 1, __ATOMIC_SEQ_CST);  /* it has exited */
	}
	closedir(d);
	__atomic_sub_fetch(&left, 1, __ATOMIC_SEQ_CST);
	for (int n; (n = __atomic_load_n(&left, __ATOMIC_SEQ_CST));)
		scone_raw4(SYS_futex, (long)&left, FUTEX_WAIT_PRIVATE, n, 0);
	return failed;
}

static long setid(long nr, long a0, long a1, long a2)
{
	pthread_mutex_lock(&lock);
	long r = scone_raw4(nr, a0, a1, a2, 0);
	/* setgroups' list lives in the call's buffer: always broadcast. */
	int again = nr != SYS_setgroups && last.nr == nr && last.a0 == a0 && last.a1 == a1 && last.a2 == a2;
	if (!r && !again) {
		pid = scone_raw4(SYS_getpid, 0, 0, 0, 0);
		cmd.nr = nr, cmd.a0 = a0, cmd.a1 = a1, cmd.a2 = a2;
		/* A thread that refused what the caller's accepted, or no way to
		 * reach them: mixed credentials are never safe to go on with
		 * (musl's do_setxid ends the process the same way). */
		if (broadcast())
			scone_raw4(SYS_kill, pid, SIGKILL, 0, 0);
		last = cmd;
	}
	if (r)
		last.nr = -1;
	pthread_mutex_unlock(&lock);
	return r;
}


long scone_hostcall(const struct scone_ocall *o)
{
	if (setid_call(o->nr))
		return setid(o->nr, o->args[0], o->args[1], o->args[2]);
	return scone_raw6(o->nr, o->args[0], o->args[1], o->args[2], o->args[3], o->args[4], o->args[5]);
}

/* The paper's cost of an enclave exit plus re-entry, emulated in SIM. */
static void spend(uint64_t cycles)
{
	/* The SGX1 profile traps RDTSC on this thread: a calibrated loop,
	 * rather than two prctl calls around every exit. */
	if (scone_strict_spend(cycles))
		return;
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
				? scone_signals_forward(ocall->args[0], ocall->args[1])
				: ocall->nr == SCONE_OCALL_SIM_QUOTE ? scone_simquote(ocall)
				: ocall->nr == SCONE_OCALL_SIM_KEY_CREATE ? scone_simkey_create(ocall)
				: ocall->nr == SCONE_OCALL_QE_TARGET ? scone_dcap_target(ocall)
				: ocall->nr == SCONE_OCALL_DCAP_QUOTE ? scone_dcap_quote(ocall)
				: scone_hostile_ocall(ocall, scone_hostcall(ocall));
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
