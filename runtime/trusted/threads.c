/*
 * The M:N scheduler (runtime/sched, scone_sched.h) embedded in the enclave:
 * its ops over the enclave heap, the clock of clock.c and the host's
 * enclave_wake futex (queue_abi.h), START's bring-up, and the ETHREAD entry
 * that runs it on every further TCS.
 */
#include "../sched/internal.h"
#include "client.h"

#define SYS_sched_yield 24
#define SYS_futex 202
#define SYS_gettid 186
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define NS 1000000000ull

static atomic_int ready;
static atomic_int permit[SCONE_SCHED_MAX_ETHREADS];
/* How many ethreads sleep outside. The pairs' enclave_state says SLEEPING
 * only while all do: an ethread still running polls for responses itself
 * (the scheduler loop, every 16th switch), and a response need not cost
 * the sthread a futex wake and a sleeper a pointless wake-up. */
static int sleepers, state_lock;

static void *alloc(size_t size)
{
	long p = __scone_sys_mmap(0, size, 3, 0x22, -1, 0);
	return p < 0 ? 0 : (void *)p;
}

static void release(void *p, size_t size)
{
	__scone_sys_munmap((unsigned long)p, size);
}

static void unmap(uintptr_t base, size_t size)
{
	__scone_sys_munmap(base, size);
}

static _Noreturn void exit_all(int status)
{
	__scone_exit(status);
}

static void sleeping(int delta)
{
	struct scone_client *c = &__scone_client;
	while (__atomic_exchange_n(&state_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ __volatile__("pause");
	int all = (int)__scone_rt.ethreads;
	sleepers += delta;
	int woke = delta < 0 && sleepers == all - 1;
	if ((delta > 0 && sleepers == all) || woke) {
		for (uint32_t q = 0; q < c->queues; q++)
			__atomic_store_n(&c->pairs[q].qp->enclave_state.value,
					 sleepers == all ? SCONE_ENCLAVE_SLEEPING : SCONE_ENCLAVE_RUNNING, __ATOMIC_SEQ_CST);
		__scone_clock_idle(sleepers == all);
	}
	__atomic_store_n(&state_lock, 0, __ATOMIC_RELEASE);
	if (woke)
		__scone_clock_wake();     /* an exit: not under the lock */
}

static void idle(unsigned ethread, uint64_t deadline)
{
	struct scone_client *c = &__scone_client;
	uint64_t rel = 0;
	if (deadline) {
		uint64_t now = __scone_clock_now(1);
		if (deadline <= now)
			return;
		rel = deadline - now;
	}
	if (!c->area) {
		/* A bare entry without a syscall area: no futex to sleep on. */
		if (!atomic_exchange(&permit[ethread], 0))
			__scone_ocall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		return;
	}
	sleeping(1);
	/* After SLEEPING is visible, a response is either harvested here or
	 * bumps enclave_wake, and a kick either left its permit or bumps it. */
	uint32_t seq = __atomic_load_n(&c->area->enclave_wake.value, __ATOMIC_SEQ_CST);
	if (!atomic_exchange(&permit[ethread], 0) && !__scone_poll()) {
		struct scone_ocall *o = __scone_host_ocall();
		/* The timeout lives in this block's args[4..5], which FUTEX_WAIT ignores. */
		long r = __scone_ocall(SYS_futex, (long)&c->area->enclave_wake.value, FUTEX_WAIT_PRIVATE, seq,
				       rel ? (long)&o->args[4] : 0, (long)(rel / NS), (long)(rel % NS));
		/* A timeout: the exact time, so that the sleep ends now rather
		 * than up to a tick of the time page later. */
		if (r == -110)
			__scone_clock_resync();
	}
	sleeping(-1);
}

static void kick(unsigned ethread)
{
	struct scone_client *c = &__scone_client;
	atomic_store(&permit[ethread], 1);
	if (!c->area)
		return;
	__atomic_fetch_add(&c->area->enclave_wake.value, 1, __ATOMIC_SEQ_CST);
	__scone_ocall(SYS_futex, (long)&c->area->enclave_wake.value, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

static const struct scone_sched_ops ops = {
	.now = __scone_clock_now,
	.idle = idle,
	.kick = kick,
	.alloc = alloc,
	.release = release,
	.unmap = unmap,
	.exit_all = exit_all,
};

void __scone_threads_init(uint64_t hwcap2, uint64_t start_flags)
{
	struct scone_client *c = &__scone_client;
	long tid = __scone_rt.tid ? __scone_rt.tid : (__scone_rt.tid = __scone_ocall(SYS_gettid, 0, 0, 0, 0, 0, 0));
	struct scone_sched_config cfg = {
		.ethreads = __scone_rt.ethreads,
		.espins = c->area ? c->espins : 10000,
		.main_tid = tid,
		.main_fs = 0,
		.hwcap2 = hwcap2,
		.xsavec = !!(start_flags & SCONE_START_XSAVEC),
		.xinuse = !!(start_flags & SCONE_START_XINUSE),
	};
	int r = __scone_sched_init(&ops, &cfg);
	if (r == -38) {
		/* No way to switch FS: one thread only; clone then fails with ENOSYS. */
		__scone_log(SCONE_LOG_WARN, "threads need the FSGSBASE instructions (AT_HWCAP2 bit 1), which the host does not report: running single-threaded");
		if (cfg.ethreads > 1)
			__scone_abort("scone: SCONE_ETHREADS > 1 needs the FSGSBASE instructions (AT_HWCAP2 bit 1): use Linux 5.9 or later on a CPU that has them");
		atomic_store(&ready, 1);
		return;
	}
	if (r)
		__scone_abortf("scone: the thread scheduler did not start (error %d) with %u ethreads; sign with a larger --heap or lower SCONE_ETHREADS",
			       -r, cfg.ethreads);
	atomic_store(&ready, 1);
}

int __scone_on_lthread(void)
{
	return __scone_sched_active() && this_lthread();
}

_Noreturn void __scone_ethread_enter(uint64_t host_ocall)
{
	/* START may still be bringing the scheduler up on TCS 0. */
	while (!atomic_load(&ready))
		__asm__ __volatile__("pause");
	uint32_t index = __scone_tcs_index();
	if (index == 0 || index >= __scone_rt.ethreads || host_ocall % 8 ||
	    !__scone_host_range(host_ocall, sizeof(struct scone_ocall)))
		__scone_eexit(SCONE_EXIT_ABORT, 0);
	__scone_set_host_ocall((struct scone_ocall *)host_ocall);
	__scone_sched_ethread_main(index);
}
