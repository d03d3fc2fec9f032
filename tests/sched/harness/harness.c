/*
 * Harness main: ethread 0 is the process's main thread (it becomes the main
 * lthread), ethreads 1..n-1 are raw OS threads; %gs points each at a page
 * shaped like struct scone_thread, as in the enclave.
 * Environment: SCHED_ETHREADS (2), SCHED_ESPINS (200), SCHED_NO_FSGSBASE=1
 * (switch FS through arch_prctl, the fallback path), SCHED_NO_XSAVEC=1
 * (plain XSAVE), SCHED_NO_XINUSE=1 (no SSE-only fast path: XSAVE on every
 * park).
 */
#include <cpuid.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "raw.h"

#define ENOSYS 38
#define ARCH_SET_FS 0x1002

struct page {
	uint64_t w[16];
} __attribute__((aligned(64)));

static struct page gs_pages[SCONE_SCHED_MAX_ETHREADS];
static atomic_int permit[SCONE_SCHED_MAX_ETHREADS];
static atomic_int asleep[SCONE_SCHED_MAX_ETHREADS];
static unsigned nethreads;

void *harness_alloc(size_t size)
{
	long p = raw6(NR_mmap, 0, (long)((size + 4095) & ~4095ul), 3, 0x22, -1, 0);
	if (p < 0) {
		static const char m[] = "harness: out of memory\n";
		raw3(1, 2, m, sizeof m - 1);
		raw1(NR_exit_group, 99);
	}
	return (void *)p;
}

static void release(void *p, size_t size)
{
	raw2(NR_munmap, p, (size + 4095) & ~4095ul);
}

static void unmap(uintptr_t base, size_t size)
{
	raw2(NR_munmap, base, size);
}

static uint64_t now(int clock)
{
	struct { long s, ns; } t;
	raw2(NR_clock_gettime, clock, &t);
	return (uint64_t)t.s * 1000000000ull + (uint64_t)t.ns;
}

static void idle(unsigned e, uint64_t deadline)
{
	if (atomic_exchange(&permit[e], 0))
		return;
	/* Announce, then look at the completions once more: an sthread
	 * pushes, then reads asleep[] (harness_kick_sleepers). */
	atomic_store(&asleep[e], 1);
	if (!harness_ext_pending()) {
		struct { long s, ns; } rel, *t = 0;
		if (deadline) {
			uint64_t n = now(1);
			uint64_t d = deadline > n ? deadline - n : 0;
			rel.s = (long)(d / 1000000000ull);
			rel.ns = (long)(d % 1000000000ull);
			t = &rel;
		}
		raw4(NR_futex, &permit[e], 0 | 128, 0, t);
	}
	atomic_store(&asleep[e], 0);
	atomic_store(&permit[e], 0);
}

static void kick(unsigned e)
{
	atomic_store(&permit[e], 1);
	raw3(NR_futex, &permit[e], 1 | 128, 1);
}

void harness_kick_sleepers(void)
{
	for (unsigned i = 0; i < nethreads; i++)
		if (atomic_load(&asleep[i]))
			kick(i);
}

_Noreturn static void exit_all(int status)
{
	for (;;)
		raw1(NR_exit_group, status);
}

static void set_fs(uint64_t fs)
{
	raw2(NR_arch_prctl, ARCH_SET_FS, fs);
}

static void ethread(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	__asm__ __volatile__("wrgsbase %0" : : "r"(&gs_pages[i]));
	__scone_sched_ethread_main(i);
}

static struct scone_sched_ops ops = {
	.now = now, .idle = idle, .kick = kick, .alloc = harness_alloc, .release = release,
	.unmap = unmap, .exit_all = exit_all,
};

static unsigned env_num(const char *name, unsigned dflt)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, 0, 10) : dflt;
}

int main(int argc, char **argv)
{
	nethreads = env_num("SCHED_ETHREADS", 2);
	struct scone_sched_config cfg = {
		.ethreads = nethreads, .espins = env_num("SCHED_ESPINS", 200),
		.main_tid = raw0(NR_gettid), .hwcap2 = 2,
	};
	if (env_num("SCHED_NO_FSGSBASE", 0)) {
		cfg.hwcap2 = 0;
		ops.set_fs = set_fs;
	}
	unsigned a, b, c, d;
	__cpuid_count(0xd, 1, a, b, c, d);
	cfg.xsavec = (a >> 1) & 1 && !env_num("SCHED_NO_XSAVEC", 0);
	cfg.xinuse = (a >> 2) & 1 && !env_num("SCHED_NO_XINUSE", 0);
	__asm__ __volatile__("rdfsbase %0" : "=r"(cfg.main_fs));
	__asm__ __volatile__("wrgsbase %0" : : "r"(&gs_pages[0]));
	harness_start_sthreads();
	if (__scone_sched_init(&ops, &cfg)) {
		static const char m[] = "harness: scone_sched_init failed\n";
		raw3(2, 2, m, sizeof m - 1);
		return 98;
	}
	for (unsigned i = 1; i < nethreads; i++)
		harness_spawn((char *)harness_alloc(256 << 10) + (256 << 10), ethread, (void *)(uintptr_t)i);
	return test_main(argc, argv);
}
