/*
 * The starter: the untrusted half of every scone binary (DESIGN.md §1, §5).
 * It finds the enclave image and the signed note in its own file, checks
 * them, builds the enclave with the SIM or HW backend, and serves the
 * enclave's system calls until it exits.
 *
 * Environment: SCONE_MODE=AUTO|SIM|HW, SCONE_HASH=1, SCONE_VERSION=1,
 * SCONE_SIM_EXIT_CYCLES=N, and the system-call knobs of knobs.c
 * (SCONE_SYSCALL=async|sync, SCONE_QUEUES, SCONE_SLOTS, SCONE_STHREADS,
 * SCONE_SSPINS, SCONE_SSLEEP, SCONE_ESPINS, SCONE_KMOD=auto|on|off,
 * SCONE_ETHREADS), SCONE_SIM_PROFILE=sgx1|sgx2|lax (profile.h) and
 * SCONE_TIME_TICK (timepage.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>
#if defined(__GLIBC__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif

#include "debugger.h"
#include "ethreads.h"
#include "faults.h"
#include "hwm.h"
#include "signals.h"

#include "hostcall.h"
#include "hostile.h"
#include "knobs.h"
#include "loader.h"
#include "profile.h"
#include "selfexe.h"
#include "sim.h"
#include "simseal.h"
#include "sthreads.h"
#include "strict.h"
#include "timepage.h"

/* The HW backend may be left out of a build; SIM never is. */
extern const struct scone_backend scone_backend_hw __attribute__((weak));

static const char *const tried_devices = "/dev/sgx_enclave, /dev/sgx/enclave";

static _Noreturn void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("scone: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static int env_is(const char *name, const char *value)
{
	const char *v = getenv(name);
	return v && !strcasecmp(v, value);
}

static void hex(char out[65], const uint8_t d[32])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static const struct scone_backend *hw_backend(char *why, size_t len)
{
	if (!&scone_backend_hw) {
		snprintf(why, len, "this starter was built without the HW backend (device paths: %s); use SCONE_MODE=SIM to simulate", tried_devices);
		return NULL;
	}
	return scone_backend_hw.available(why, len) ? &scone_backend_hw : NULL;
}

static const struct scone_backend *pick_backend(void)
{
	const char *mode = getenv("SCONE_MODE");
	char why[512] = "";
	if (!mode || !*mode || !strcasecmp(mode, "AUTO")) {
		const struct scone_backend *b = hw_backend(why, sizeof why);
		if (b)
			return b;
		if (!scone_backend_sim.available(why, sizeof why))
			die(2, "no SGX device (tried %s) and %s", tried_devices, why);
		/* On a terminal only: build tools run enclave binaries too, and
		 * some (Tcl's exec in sqlite's build) fail on any stderr output.
		 * SCONE_MODE=HW insists on hardware; SCONE_VERSION=1 names the mode. */
		if (isatty(2))
			fprintf(stderr, "[SCONE|WARN] no usable SGX device (tried %s): running in simulation mode (SIM), without SGX protection\n",
				tried_devices);
		return &scone_backend_sim;
	}
	if (!strcasecmp(mode, "SIM")) {
		if (!scone_backend_sim.available(why, sizeof why))
			die(2, "SCONE_MODE=SIM: %s", why);
		return &scone_backend_sim;
	}
	if (!strcasecmp(mode, "HW")) {
		const struct scone_backend *b = hw_backend(why, sizeof why);
		if (!b)
			die(2, "SCONE_MODE=HW: %s", why);
		return b;
	}
	die(2, "SCONE_MODE=%s: expected AUTO, SIM or HW", mode);
}

/* SCONE_START_XSAVEC and SCONE_START_XINUSE from CPUID.(0xD,1):EAX. glibc
 * has read that leaf at start-up already: under a hypervisor every CPUID
 * is a VM exit costing microseconds (3.6 us each on the 2-core KVM guest
 * of the start-up measurements). */
static uint64_t xsave_flags(void)
{
#ifdef CPU_FEATURE_PRESENT
	return (CPU_FEATURE_PRESENT(XSAVEC) ? SCONE_START_XSAVEC : 0) |
	       (CPU_FEATURE_PRESENT(XGETBV_ECX_1) ? SCONE_START_XINUSE : 0);
#else
	unsigned a, b, c, d;
	if (!__get_cpuid_count(0xd, 1, &a, &b, &c, &d))
		return 0;
	return (a & 2 ? SCONE_START_XSAVEC : 0) | (a & 4 ? SCONE_START_XINUSE : 0);
#endif
}

/* The CPUID leaves the enclave answers CPUID with (exception.c): read here,
 * before any thread has CPUID faulting turned on (strict.c). */
static void cpuid_table(struct scone_cpuid *t)
{
	static const uint32_t indexed[][2] = {   /* leaf, subleaves */
		{ 4, 4 }, { 7, 2 }, { 0xb, 2 }, { 0xd, 4 }, { 0x14, 2 },
	};
	unsigned a, b, c, d, max = __get_cpuid_max(0, NULL), xmax = __get_cpuid_max(0x80000000, NULL);
	t->count = 0;
	for (uint32_t leaf = 0; leaf <= max && leaf <= 0x1f; leaf++) {
		uint32_t subs = 1;
		for (unsigned k = 0; k < sizeof indexed / sizeof *indexed; k++)
			if (indexed[k][0] == leaf)
				subs = indexed[k][1];
		/* Leaf 0x12 describes SGX itself: a program inside has no use for it. */
		for (uint32_t s = 0; s < subs && leaf != 0x12 && t->count < SCONE_CPUID_LEAVES; s++) {
			__cpuid_count(leaf, s, a, b, c, d);
			t->l[t->count++] = (struct scone_cpuid_leaf){ leaf, s, a, b, c, d };
		}
	}
	for (uint32_t leaf = 0x80000000; leaf <= xmax && leaf <= 0x80000008 && t->count < SCONE_CPUID_LEAVES; leaf++) {
		__cpuid_count(leaf, 0, a, b, c, d);
		t->l[t->count++] = (struct scone_cpuid_leaf){ leaf, 0, a, b, c, d };
	}
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t exit_cycles(void)
{
	const char *v = getenv("SCONE_SIM_EXIT_CYCLES");
	if (!v || !*v)
		return 0;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || *v == '-')
		die(2, "SCONE_SIM_EXIT_CYCLES=%s: expected a number of TSC cycles", v);
	return n;
}

static void print_version(const struct scone_backend *b, const struct scone_note *n,
			  const uint8_t mr[32], const struct scone_knobs *k, int kmod)
{
	const struct scone_enclave_config *c = &n->config;
	uint16_t prodid, svn;
	char h[65];
	memcpy(&prodid, n->sigstruct + 1024, 2);
	memcpy(&svn, n->sigstruct + 1026, 2);
	hex(h, mr);
	fprintf(stderr,
		"scone starter: mode %s, syscalls %s\n"
		"Enclave size: %llu bytes (0x%llx)\n"
		"Heap: %llu bytes\nStack: %llu bytes per thread\nTCS: %u, SSA frames: %u x %u pages\n"
		"Debug: %s\nISVPRODID: %u, ISVSVN: %u\n"
		"Enclave hash: %s\n",
		b->name, k->async ? (kmod ? (k->adaptive ? "adaptive (scone.ko)" : "async (scone.ko)") : (k->adaptive ? "adaptive" : "async")) : "sync",
		(unsigned long long)c->enclave_size, (unsigned long long)c->enclave_size,
		(unsigned long long)c->heap_size, (unsigned long long)c->stack_size, c->tcs_count,
		c->nssa, c->ssa_frame_pages, c->flags & SCONE_CONFIG_DEBUG ? "yes" : "no",
		prodid, svn, h);
}

int main(int argc, char **argv, char **envp)
{
	uint64_t t_main = now_ns();
	char err[1024];
	struct scone_selfexe x;
	struct scone_note n;

	const char *prog = argv[0] && argv[0][0] ? argv[0] : "/proc/self/exe";
	if (scone_selfexe_open(scone_hostile_exe(), prog, &x, err, sizeof err))
		die(2, "%s", err);
	if (scone_note_parse(x.note, x.note_size, x.image, x.image_size, &n, err, sizeof err))
		die(2, "%s: %s; the binary is corrupted or was modified after signing", prog, err);

	if (getenv("SCONE_HASH") && strcmp(getenv("SCONE_HASH"), "0")) {
		struct scone_enclave *e;
		uint64_t base;
		uint8_t mr[32];
		char h[65];
		if (scone_load(&scone_backend_measure, &n, &e, &base, err, sizeof err))
			die(2, "%s", err);
		scone_backend_measure.mrenclave(e, mr);
		hex(h, mr);
		printf("%s\n", h);
		return 0;
	}

	struct scone_knobs knobs;
	if (scone_knobs_parse(&knobs, n.config.tcs_count, err, sizeof err))
		die(2, "%s", err);
	const struct scone_backend *b = pick_backend();
	enum scone_profile profile;
	if (scone_profile_parse(&profile, err, sizeof err))
		die(2, "%s", err);
	int rdtsc = b == &scone_backend_sim ? profile != SCONE_PROFILE_SGX1 : scone_profile_hw_rdtsc();
	uint64_t cycles = exit_cycles();
	struct scone_enclave *e;
	uint64_t base;
	uint64_t t_note = now_ns();
	if (scone_load(b, &n, &e, &base, err, sizeof err))
		die(2, "%s: the enclave did not start: %s", prog, err);
	scone_debug_register(base, n.hdr.enclave_size);
	uint64_t t_load = now_ns();
	struct scone_syscalls sys;
	if (scone_syscalls_start(&sys, &knobs, n.config.tcs_count, err, sizeof err))
		die(2, "%s", err);
	scone_faults_prog = prog;
	if (scone_faults_init(base, &n.config, err, sizeof err))
		die(2, "%s", err);
	struct scone_time_page *time_page = scone_time_start(err, sizeof err);
	if (!time_page)
		die(2, "%s", err);
	uint64_t t_sys = now_ns();
	struct scone_hwm *hwm = scone_hwm_init("/proc/self/exe");
	if (getenv("SCONE_HWM_FILE")) {
		uint8_t mr[32];
		b->mrenclave(e, mr);
		scone_hwm_mrenclave(mr);
	}
	if (env_is("SCONE_VERSION", "1")) {
		uint8_t mr[32];
		b->mrenclave(e, mr);
		print_version(b, &n, mr, &knobs, sys.kmod_fd >= 0);
	}
	static struct scone_sim_seal seal;
	int sealed = 0;
	if (b == &scone_backend_sim) {
		uint8_t mr[32];
		b->mrenclave(e, mr);
		sealed = scone_sim_seal(&n, mr, &seal, err, sizeof err);
		if (sealed < 0)
			die(2, "%s", err);
	}
	if (b == &scone_backend_sim &&
	    scone_strict_init(profile, base, n.config.enclave_size, x.image, x.image_size, err, sizeof err))
		die(2, "%s", err);
	uint64_t tcs[SCONE_MAX_TCS], enclave_size = n.config.enclave_size;
	for (uint32_t i = 0; i < knobs.ethreads; i++)
		tcs[i] = n.config.threads[i].tcs;
	scone_note_free(&n);
	scone_selfexe_close(&x);   /* the enclave holds its own copy now */

	static struct scone_ocall ocall __attribute__((aligned(64)));
	static struct scone_start_args args;
	args.argc = (uint64_t)argc;
	args.argv = (uint64_t)(uintptr_t)argv;
	args.envp = (uint64_t)(uintptr_t)envp;
	args.ocall = (uint64_t)(uintptr_t)&ocall;
	args.flags = (b == &scone_backend_sim ? SCONE_START_SIM : 0) | xsave_flags() |
		     (rdtsc ? SCONE_START_RDTSC : 0);
	args.reserved[SCONE_START_TIME] = (uint64_t)(uintptr_t)time_page;
	static struct scone_cpuid cpuid;
	cpuid_table(&cpuid);
	args.reserved[SCONE_START_CPUID] = (uint64_t)(uintptr_t)&cpuid;
	args.reserved[SCONE_START_ETHREADS] = knobs.ethreads;
	args.hwcap = getauxval(AT_HWCAP);
	args.hwcap2 = getauxval(AT_HWCAP2);
	args.reserved[SCONE_START_SYSCALL_AREA] = (uint64_t)(uintptr_t)sys.area;
	args.reserved[SCONE_START_SIGNALS] = (uint64_t)(uintptr_t)scone_signals_init(sys.area);
	args.reserved[SCONE_START_SIM_SEAL] = sealed ? (uint64_t)(uintptr_t)&seal : 0;
	scone_hostile_start(&args, sys.area, base, enclave_size);
	args.reserved[SCONE_START_HWM] = (uint64_t)(uintptr_t)hwm;

	if (scone_ethreads_start(b, e, tcs, knobs.ethreads, b == &scone_backend_sim ? cycles : 0, err, sizeof err))
		die(2, "%s", err);
	scone_strict_thread();
	/* The last calls this thread makes before it enters: from here on it
	 * runs the enclave and leaves only to sleep (strace tests rely on it). */
	if (env_is("SCONE_LOG", "debug") || env_is("SCONE_LOG", "4")) {
		uint64_t t_eth = now_ns();
		fprintf(stderr, "[SCONE|DEBUG] start-up in the starter: note %.3f ms, load (ECREATE EADD EEXTEND EINIT) %.3f ms, "
			"syscall threads %.3f ms, ethreads %.3f ms\n", (t_note - t_main) / 1e6, (t_load - t_note) / 1e6,
			(t_sys - t_load) / 1e6, (t_eth - t_sys) / 1e6);
		fprintf(stderr, "[SCONE|DEBUG] ethread 0 is thread %d; %u sthreads\n", (int)syscall(SYS_gettid),
			knobs.async ? knobs.queues : 0);
	}
	struct scone_run_result r;
	int rc = scone_run_thread(b, e, tcs[0], SCONE_ECALL_START, (uint64_t)(uintptr_t)&args, &ocall,
				  b == &scone_backend_sim ? cycles : 0, &r);
	if (rc)
		die(2, "entering the enclave failed (error %d)", rc);
	if (r.done) {
		scone_hwm_write("exit", r.status, -1);
		exit(r.status);
	}
	scone_hwm_write("abort", 1, -1);
	fprintf(stderr, "scone: enclave aborted: %s\n",
		r.message[0] ? r.message : "it refused the entry (bad start arguments or config page)");
	exit(1);
}
