/*
 * The M:N scheduler (issue 5): lthreads (every pthread, and main) run on a
 * few ethreads; futexes, sleeps, yields and thread exit are served here,
 * inside the enclave. The syscall dispatcher routes the calls below; the
 * embedder (enclave runtime, or a test harness) supplies the clock, the idle
 * sleep outside and memory through struct scone_sched_ops.
 *
 * Every function but the init/ethread entries follows Linux syscall
 * semantics: results >= 0, or -errno.
 *
 * Per-ethread state is reached through %gs, which on an enclave thread is
 * its struct scone_thread page (enclave_abi.h): the scheduler owns
 * scratch[1] (offset 96) and keeps fsbase (offset 64) equal to the FS base
 * of the lthread running there, so that the entry code restores the right
 * one on every re-entry.
 */
#ifndef SCONE_SCHED_H
#define SCONE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define SCONE_SCHED_API __attribute__((visibility("hidden")))

#define SCONE_SCHED_GS_FSBASE 64
#define SCONE_SCHED_GS_ETHREAD 96
#define SCONE_SCHED_MAX_ETHREADS 64

struct scone_sched_ops {
	/* Nanoseconds on clock 0 (CLOCK_REALTIME) or 1 (CLOCK_MONOTONIC).
	 * Called only while timers are pending, but then every 16th switch
	 * and every 64th idle spin: it must not cost an exit each time. */
	uint64_t (*now)(int clock);
	/* Sleep outside until kick(ethread), or the monotonic deadline (0: none),
	 * or spuriously. A kick that comes first makes the next idle() return
	 * at once (a permit), so no wake-up is lost. */
	void (*idle)(unsigned ethread, uint64_t deadline);
	void (*kick)(unsigned ethread);
	/* Zeroed memory, 64-byte aligned; released with the same size. */
	void *(*alloc)(size_t size);
	void (*release)(void *p, size_t size);
	/* munmap of a detached thread's stack, after the switch away from it. */
	void (*unmap)(uintptr_t base, size_t size);
	/* The last lthread has exited with status. */
	void (*exit_all)(int status) __attribute__((noreturn));
	/* Without FSGSBASE: how to set the FS base (NULL: wrfsbase). */
	void (*set_fs)(uint64_t fs);
};

struct scone_sched_config {
	unsigned ethreads;         /* 1..SCONE_SCHED_MAX_ETHREADS */
	unsigned espins;           /* idle polls before sleeping outside */
	long main_tid;             /* tid of the adopted main lthread; later ones follow */
	uint64_t main_fs;          /* its FS base (0 before TLS exists) */
	uint64_t hwcap2;           /* AT_HWCAP2: bit 1 = FSGSBASE usable */
	int xsavec;                /* CPUID.(0xD,1):EAX bit 1 (XSAVEC), as the host reports it */
	int xinuse;                /* CPUID.(0xD,1):EAX bit 2 (XGETBV with ECX = 1) */
};

/* clone's registers as the hook received them (hook.h): the six arguments,
 * then the callee-saved registers the child starts with (0 if unknown). */
struct scone_clone_regs {
	uint64_t rdi, rsi, rdx, r10, r8, r9;
	uint64_t rbx, rbp, r12, r13, r14, r15;
};

struct scone_sched_stats {
	uint64_t switches, steals, idle_sleeps, kicks, polls;
};

/* Adopt the caller as the main lthread on ethread 0 (this OS thread, whose
 * %gs page must already be set). 0, -EINVAL (config), -ENOSYS (no way to
 * switch FS), -ENOMEM. */
int __scone_sched_init(const struct scone_sched_ops *ops, const struct scone_sched_config *cfg) SCONE_SCHED_API;
/* Run ethread index (1..ethreads-1) on the calling OS thread, on its
 * current stack, with its %gs page set; never returns. */
_Noreturn void __scone_sched_ethread_main(unsigned index) SCONE_SCHED_API;
int __scone_sched_active(void) SCONE_SCHED_API;
/* fn(thread pointer, stack top) for every live lthread a clone started
 * (high-water marks at exit). */
void __scone_sched_each_clone(void (*fn)(uint64_t fs, uintptr_t top)) SCONE_SCHED_API;
void __scone_sched_stats(unsigned ethread, struct scone_sched_stats *out) SCONE_SCHED_API;

/* ---- system calls ---- */
long __scone_sched_clone(const struct scone_clone_regs *r) SCONE_SCHED_API;
long __scone_sched_futex(uint32_t *uaddr, long op, uint32_t val, uintptr_t timeout_or_val2,
		       uint32_t *uaddr2, uint32_t val3) SCONE_SCHED_API;
/* set_robust_list(2) / get_robust_list(2), per lthread; the list is walked
 * as the kernel does when the lthread exits. */
long __scone_sched_set_robust_list(void *head, unsigned long len) SCONE_SCHED_API;
long __scone_sched_get_robust_list(long tid, void **head, unsigned long *len) SCONE_SCHED_API;
/* End lthread tid's futex wait, if any, as a spurious wake-up (for
 * pthread_cancel). 1 if it was waiting, else 0. */
long __scone_sched_futex_interrupt(long tid) SCONE_SCHED_API;
/* The bitset of the futex waits that are sleeps (nanosleep): signal(7)
 * never restarts those, so a signal ends them even under SA_RESTART. */
#define SCONE_SCHED_SLEEP_BITSET 0x51ee9u

/* ---- signals (sigtarget.c), for runtime/trusted/signal.c ----
 * Masks are per lthread; a new one inherits its creator's. A handler runs
 * as its receiver (a bare lthread with the receiver's TLS, started by
 * signal.c); these choose the receiver as Linux does and end its wait once
 * the handler has run. */
/* The running lthread's mask, or NULL on the scheduler loop. */
uint64_t *__scone_sched_sigmask(void) SCONE_SCHED_API;
/* Who receives signal bit: tid > 0 names the thread (pthread_kill): tid if
 * it does not block bit, 0 if it does, -ESRCH if there is no such thread.
 * tid 0 (process-directed): the main lthread unless it blocks bit, else
 * the first lthread that does not, else 0 (the signal stays pending). */
long __scone_sched_signal_pick(long tid, uint64_t bit) SCONE_SCHED_API;
/* Leave bit pending on thread tid (it blocks it, or the signal lthread
 * will deliver it). 0 or -ESRCH. */
long __scone_sched_signal_post(long tid, uint64_t bit) SCONE_SCHED_API;
/* Take one signal directed at some lthread that no longer blocks it: its
 * tid (*bit set), or 0. */
long __scone_sched_signal_take_directed(uint64_t *bit) SCONE_SCHED_API;
/* Block bits in thread tid's mask while a handler runs for it (a handler
 * lthread is not its receiver): the bits this added, to unblock after. */
uint64_t __scone_sched_sigmask_add(long tid, uint64_t bits) SCONE_SCHED_API;
void __scone_sched_sigmask_remove(long tid, uint64_t bits) SCONE_SCHED_API;
/* The thread whose signal state the running lthread acts on: a handler
 * lthread's receiver (set with sig_for at its start), else itself. */
long __scone_sched_sig_self(void) SCONE_SCHED_API;
void __scone_sched_set_sig_for(long tid) SCONE_SCHED_API;
/* Thread tid's alternate signal stack: get (size 0: disabled; 0 or
 * -ESRCH), set, and claim it for a handler lthread (1 if it was free and
 * enabled: *sp, *size filled) or release it. */
long __scone_sched_altstack_get(long tid, uintptr_t *sp, size_t *size) SCONE_SCHED_API;
void __scone_sched_altstack_set(long tid, uintptr_t sp, size_t size) SCONE_SCHED_API;
int __scone_sched_altstack_claim(long tid, uintptr_t *sp, size_t *size) SCONE_SCHED_API;
void __scone_sched_altstack_release(long tid) SCONE_SCHED_API;
/* Take one of the running lthread's directed signals in want: its bit, or 0. */
uint64_t __scone_sched_signal_take_own(uint64_t want) SCONE_SCHED_API;
/* After the handler ran: interrupt thread tid as the signal does (restart:
 * the handler has SA_RESTART). Its futex wait ends (EINTR); *cookie and
 * *pair name the external call it waits for outside (cookie 0: none), for
 * the caller to cancel. 1 if tid lives, else 0. */
int __scone_sched_signal_interrupt(long tid, int restart, uint64_t *cookie, uint32_t *pair) SCONE_SCHED_API;
/* Thread tid's FS base (its TLS and pthread_self), 0 if it is gone. */
uint64_t __scone_sched_signal_fs(long tid) SCONE_SCHED_API;
/* The running lthread: interruptions so far (0 on the scheduler loop), and
 * whether the last one asks for a restart (SA_RESTART). */
uint32_t __scone_sched_sigintr(void) SCONE_SCHED_API;
int __scone_sched_sig_restart(void) SCONE_SCHED_API;
/* The running lthread posted external call cookie on pair and waits for
 * it (queue.c), or no longer does (cookie 0). */
void __scone_sched_ext_set(uint64_t cookie, uint32_t pair) SCONE_SCHED_API;
/* The running lthread's external call: 1 and its cookie and pair, or 0. */
int __scone_sched_ext_get(uint64_t *cookie, uint32_t *pair) SCONE_SCHED_API;
long __scone_sched_nanosleep(const void *req, void *rem) SCONE_SCHED_API;
long __scone_sched_clock_nanosleep(long clock, long flags, const void *req, void *rem) SCONE_SCHED_API;
long __scone_sched_yield(void) SCONE_SCHED_API;
/* 1 if another lthread waits in this ethread's run queue (adaptive calls). */
int __scone_sched_others_ready(void) SCONE_SCHED_API;
/* 1 if no lthread is runnable on any ethread and no timer is pending: the
 * running lthread is the only one that can make progress now. */
int __scone_sched_quiet(void) SCONE_SCHED_API;
_Noreturn void __scone_sched_exit(int status) SCONE_SCHED_API;
_Noreturn void __scone_sched_unmapself(uintptr_t base, size_t size) SCONE_SCHED_API;
long __scone_sched_set_tid_address(int *ctid) SCONE_SCHED_API;
long __scone_sched_gettid(void) SCONE_SCHED_API;
/* arch_prctl(ARCH_SET_FS) of the running lthread: sets and records it. */
void __scone_sched_set_fs(uint64_t fs) SCONE_SCHED_API;

#endif
