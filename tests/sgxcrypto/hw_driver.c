/*
 * Drives the HW backend's pieces that run without SGX; one command per run:
 *   available                   scone_backend_hw.available()
 *   probe PATH...               scone_hw_probe() over these device paths
 *   create                      scone_backend_hw.create() of a 64 KiB enclave
 *   vdso NAME VERSION DUMPFILE  lookup; writes the vDSO image to DUMPFILE and
 *                               prints the symbol's offset from the image
 *   clock                       calls the vDSO clock_gettime found by lookup
 *   xfrm XCR0 ALLOWED SIGX MASK scone_xfrm_choose()
 *   xfrmsig SIGX MASK           scone_xfrm_for_sigstruct() on this CPU
 *   xsave XFRM                  scone_xsave_size()
 *   enter OP ARG                scone_hw_eenter() through fake_sgx_enter
 *   preserve                    callee-saved registers across the entry call
 *   misc SIGMISC SIGMASK SUPPORTED  scone_miscselect_choose()
 *   route FN VEC REASON INEXC PENDING   scone_hw_route() on a run with
 *                               function FN and exception_vector VEC
 *   fault SCRIPT                scone_hw_eenter() through a stand-in vDSO that
 *                               plays an enclave: SCRIPT's letters, one per
 *                               vDSO call: p = AEX with #PF, u = AEX with #UD,
 *                               r = EEXIT ERESUME, n = EEXIT UNHANDLED,
 *                               x = EEXIT with RDI = 2 (DONE), RSI = 7; prints
 *                               each call's leaf, then the result
 */
#include <fenv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "hw.h"
#include "vdso.h"
#include "xfrm.h"

int fake_sgx_enter(unsigned long, unsigned long, unsigned long, unsigned int,
		   unsigned long, unsigned long, struct scone_sgx_enclave_run *);
int callee_saved_survive(void *fn, uint64_t op, uint64_t arg, struct scone_sgx_enclave_run *run);

/* The "enclave" of the fault command: one vDSO call per letter. */
static const char *script;
static char leaves[64];
static int calls;

static int scripted_vdso(unsigned long rdi, unsigned long rsi, unsigned long rdx, unsigned int function,
			 unsigned long r8, unsigned long r9, struct scone_sgx_enclave_run *run)
{
	typedef int handler_fn(long, long, long, long, long, long, struct scone_sgx_enclave_run *);
	char c = script[calls];

	(void)rdi, (void)rsi;
	if (!c || calls + 1 >= (int)sizeof(leaves))
		return -22;
	leaves[calls++] = function == SCONE_ENCLU_EENTER ? 'E' : function == SCONE_ENCLU_ERESUME ? 'R' : '?';
	run->function = function;
	if (c == 'p' || c == 'u') {
		run->exception_vector = c == 'p' ? 14 : 6;
		run->exception_error_code = c == 'p' ? 6 : 0;
		run->exception_addr = c == 'p' ? 0xdead000 : 0;
		rdi = rsi = 0;
	} else {
		run->function = SCONE_ENCLU_EEXIT;
		rdi = c == 'r' ? SCONE_EXIT_ERESUME : c == 'n' ? SCONE_EXIT_UNHANDLED : SCONE_EXIT_DONE;
		rsi = 7;
	}
	return ((handler_fn *)(uintptr_t)run->user_handler)((long)rdi, (long)rsi, (long)rdx, 0,
							     (long)r8, (long)r9, run);
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static size_t vdso_size(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t size = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			size = hi - lo;
	}
	if (f)
		fclose(f);
	return size;
}

int main(int argc, char **argv)
{
	char err[1024] = "";
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "available")) {
		int ok = scone_backend_hw.available(err, sizeof(err));

		printf("%d %s\n", ok, err);
		return 0;
	}
	if (!strcmp(cmd, "probe")) {
		int ok = scone_hw_probe((const char *const *)argv + 2, err, sizeof(err));

		printf("%d %s\n", ok, err);
		return 0;
	}
	if (!strcmp(cmd, "create")) {
		struct scone_secs_params p = { .size = 1 << 16, .ssa_frame_pages = 1,
					       .attributes = 0x6, .xfrm = 0x3 };
		struct scone_enclave *e = (struct scone_enclave *)1;
		uint64_t base = 0;
		int rc = scone_backend_hw.create(&e, &p, &base, err, sizeof(err));

		printf("%d %s %s\n", rc, e ? "non-null" : "null", err);
		return 0;
	}
	if (!strcmp(cmd, "vdso") && argc == 5) {
		const uint8_t *image = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
		void *sym = scone_vdso_lookup(image, argv[2], argv[3]);
		FILE *f = fopen(argv[4], "wb");

		fwrite(image, 1, vdso_size(), f);
		fclose(f);
		if (sym != scone_vdso_sym(argv[2], argv[3]))
			return 3;
		if (sym)
			printf("found 0x%" PRIxPTR "\n", (uintptr_t)sym - (uintptr_t)image);
		else
			printf("missing\n");
		return 0;
	}
	if (!strcmp(cmd, "clock")) {
		int (*gettime)(clockid_t, struct timespec *) =
			(int (*)(clockid_t, struct timespec *))scone_vdso_sym("__vdso_clock_gettime", "LINUX_2.6");
		struct timespec a, b, c;

		if (!gettime)
			return 4;
		clock_gettime(CLOCK_MONOTONIC, &a);
		gettime(CLOCK_MONOTONIC, &b);
		clock_gettime(CLOCK_MONOTONIC, &c);
		printf("%d\n", (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)) &&
			       (c.tv_sec > b.tv_sec || (c.tv_sec == b.tv_sec && c.tv_nsec >= b.tv_nsec)));
		return 0;
	}
	if (!strcmp(cmd, "xfrm") && argc == 6) {
		uint64_t x = 0;
		int rc = scone_xfrm_choose(num(argv[2]), num(argv[3]), num(argv[4]), num(argv[5]), &x, err, sizeof(err));

		printf("%d 0x%" PRIx64 " %s\n", rc, x, err);
		return 0;
	}
	if (!strcmp(cmd, "xfrmsig") && argc == 4) {
		uint8_t sig[1808] = { 0 };
		uint64_t sx = num(argv[2]), sm = num(argv[3]), x = 0;
		int rc;

		memcpy(sig + 936, &sx, 8);
		memcpy(sig + 952, &sm, 8);
		rc = scone_xfrm_for_sigstruct(sig, &x, err, sizeof(err));
		printf("%d 0x%" PRIx64 " %s\n", rc, x, err);
		return 0;
	}
	if (!strcmp(cmd, "xsave") && argc == 3) {
		printf("%u\n", scone_xsave_size(num(argv[2])));
		return 0;
	}
	if (!strcmp(cmd, "enter") && argc == 4) {
		uint64_t reason = 0, value = 0;
		int signo = 0;
		int rc = scone_hw_eenter(fake_sgx_enter, 0x7000, num(argv[2]), num(argv[3]),
					 &reason, &value, &signo, err, sizeof(err));

		printf("%d %" PRIu64 " %" PRIu64 " %s\n", rc, reason, value, err);
		printf("rounding %s mxcsr 0x%x\n", fegetround() == FE_TONEAREST ? "nearest" : "changed",
		       __builtin_ia32_stmxcsr());
		return 0;
	}
	if (!strcmp(cmd, "misc") && argc == 5) {
		uint32_t misc = 0;
		int rc = scone_miscselect_choose((uint32_t)num(argv[2]), (uint32_t)num(argv[3]),
						 (uint32_t)num(argv[4]), &misc, err, sizeof(err));
		printf("%d 0x%x %s\n", rc, misc, err);
		return 0;
	}
	if (!strcmp(cmd, "route") && argc == 7) {
		struct scone_sgx_enclave_run run;

		memset(&run, 0, sizeof(run));
		run.function = (uint32_t)num(argv[2]);
		run.exception_vector = (uint16_t)num(argv[3]);
		struct scone_hw_step st = scone_hw_route(&run, num(argv[4]), (int)num(argv[5]),
							 (unsigned)num(argv[6]));
		printf("%s leaf %u exception %d signo %d vector %u\n",
		       st.kind == SCONE_HW_DONE ? "done" : st.kind == SCONE_HW_NEXT ? "next" : "fatal",
		       st.leaf, st.exception, st.signo, st.vector);
		return 0;
	}
	if (!strcmp(cmd, "fault") && argc == 3) {
		uint64_t reason = 0, value = 0;
		int signo = 0;

		script = argv[2];
		int rc = scone_hw_eenter(scripted_vdso, 0x7000, 1, 2, &reason, &value, &signo, err, sizeof(err));
		printf("%s\n%d %" PRIu64 " %" PRIu64 " signo %d %s\n", leaves, rc, reason, value, signo, err);
		return 0;
	}
	if (!strcmp(cmd, "preserve")) {
		struct scone_sgx_enclave_run run;

		memset(&run, 0, sizeof(run));
		run.tcs = 0x7000;
		printf("%d\n", callee_saved_survive(fake_sgx_enter, 1, 2, &run));
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of hw_driver.c\n");
	return 2;
}
