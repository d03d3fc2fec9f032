/*
 * The hook ABI promises a caller every vector register back (hook.h), and
 * an lthread parks inside the hook while others run: xmm0-15 (and the
 * ymm upper halves where AVX exists), MXCSR's rounding mode and the x87
 * control word must come back as each thread left them, across yields,
 * futex waits and sleeps on several ethreads.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

int test_main(int argc, char **argv);

enum { N = 16, ROUNDS = 300 };
static int avx;

/* x87_call: system call nr(a0, 0) with pi and 1 live on the x87 stack,
 * popped into out[0], out[1] after. x87_sum8: push eight 1.0 and add them:
 * 8.0 only if the stack was empty (else it overflows into a NaN). */
long x87_call(long nr, long a0, double *out);
void x87_pair(double *out);
double x87_sum8(void);
__asm__(".text\n"
	"x87_pair:\n fld1\n fldpi\n fstpl 0(%rdi)\n fstpl 8(%rdi)\n ret\n"
	"x87_call:\n push %rbx\n mov %rdx, %rbx\n mov %rdi, %rax\n mov %rsi, %rdi\n"
	" xor %esi, %esi\n fld1\n fldpi\n sub $128, %rsp\n call __scone_syscall\n"
	" add $128, %rsp\n fstpl 0(%rbx)\n fstpl 8(%rbx)\n pop %rbx\n ret\n"
	"x87_sum8:\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n"
	" faddp\n faddp\n faddp\n faddp\n faddp\n faddp\n faddp\n"
	" sub $8, %rsp\n fstpl (%rsp)\n movsd (%rsp), %xmm0\n add $8, %rsp\n ret\n");

/* Fill the registers, make system call nr through the hook with them
 * live, read them back. */
static long call_with_vectors(int wide, long nr, long a0, long a1, const uint8_t *in, uint8_t *out)
{
	long ret;
	register long rdi __asm__("rdi") = a0, rsi __asm__("rsi") = a1;
	register long rdx __asm__("rdx") = 0, r10 __asm__("r10") = 0;
	if (wide) {
		__asm__ __volatile__(
			"vmovdqu 0(%[i]), %%ymm0\n vmovdqu 32(%[i]), %%ymm1\n vmovdqu 64(%[i]), %%ymm2\n"
			"vmovdqu 96(%[i]), %%ymm3\n vmovdqu 128(%[i]), %%ymm4\n vmovdqu 160(%[i]), %%ymm5\n"
			"vmovdqu 192(%[i]), %%ymm6\n vmovdqu 224(%[i]), %%ymm7\n vmovdqu 256(%[i]), %%ymm8\n"
			"vmovdqu 288(%[i]), %%ymm9\n vmovdqu 320(%[i]), %%ymm10\n vmovdqu 352(%[i]), %%ymm11\n"
			"vmovdqu 384(%[i]), %%ymm12\n vmovdqu 416(%[i]), %%ymm13\n vmovdqu 448(%[i]), %%ymm14\n"
			"vmovdqu 480(%[i]), %%ymm15\n"
			"sub $128, %%rsp\n call __scone_syscall\n add $128, %%rsp\n"
			"vmovdqu %%ymm0, 0(%[o])\n vmovdqu %%ymm1, 32(%[o])\n vmovdqu %%ymm2, 64(%[o])\n"
			"vmovdqu %%ymm3, 96(%[o])\n vmovdqu %%ymm4, 128(%[o])\n vmovdqu %%ymm5, 160(%[o])\n"
			"vmovdqu %%ymm6, 192(%[o])\n vmovdqu %%ymm7, 224(%[o])\n vmovdqu %%ymm8, 256(%[o])\n"
			"vmovdqu %%ymm9, 288(%[o])\n vmovdqu %%ymm10, 320(%[o])\n vmovdqu %%ymm11, 352(%[o])\n"
			"vmovdqu %%ymm12, 384(%[o])\n vmovdqu %%ymm13, 416(%[o])\n vmovdqu %%ymm14, 448(%[o])\n"
			"vmovdqu %%ymm15, 480(%[o])\n vzeroupper\n"
			: "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
			: "a"(nr), [i] "b"(in), [o] "r"(out)
			: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
			  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	} else {
		__asm__ __volatile__(
			"movdqu 0(%[i]), %%xmm0\n movdqu 32(%[i]), %%xmm1\n movdqu 64(%[i]), %%xmm2\n"
			"movdqu 96(%[i]), %%xmm3\n movdqu 128(%[i]), %%xmm4\n movdqu 160(%[i]), %%xmm5\n"
			"movdqu 192(%[i]), %%xmm6\n movdqu 224(%[i]), %%xmm7\n movdqu 256(%[i]), %%xmm8\n"
			"movdqu 288(%[i]), %%xmm9\n movdqu 320(%[i]), %%xmm10\n movdqu 352(%[i]), %%xmm11\n"
			"movdqu 384(%[i]), %%xmm12\n movdqu 416(%[i]), %%xmm13\n movdqu 448(%[i]), %%xmm14\n"
			"movdqu 480(%[i]), %%xmm15\n"
			"sub $128, %%rsp\n call __scone_syscall\n add $128, %%rsp\n"
			"movdqu %%xmm0, 0(%[o])\n movdqu %%xmm1, 32(%[o])\n movdqu %%xmm2, 64(%[o])\n"
			"movdqu %%xmm3, 96(%[o])\n movdqu %%xmm4, 128(%[o])\n movdqu %%xmm5, 160(%[o])\n"
			"movdqu %%xmm6, 192(%[o])\n movdqu %%xmm7, 224(%[o])\n movdqu %%xmm8, 256(%[o])\n"
			"movdqu %%xmm9, 288(%[o])\n movdqu %%xmm10, 320(%[o])\n movdqu %%xmm11, 352(%[o])\n"
			"movdqu %%xmm12, 384(%[o])\n movdqu %%xmm13, 416(%[o])\n movdqu %%xmm14, 448(%[o])\n"
			"movdqu %%xmm15, 480(%[o])\n"
			: "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
			: "a"(nr), [i] "b"(in), [o] "r"(out)
			: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
			  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	}
	return ret;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	/* Threads 0, 4, 8, 12 use xmm only and leave the x87 alone (the
	 * SSE-only fast path); the others dirty ymm uppers and x87 state. */
	int wide = avx && id % 4;
	static const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
	int mode = modes[id % 4];
	CHECK(!fesetround(mode), "fesetround");
	/* fesetround set the x87 rounding bits too; odd threads also change
	 * the precision field to single. */
	uint16_t cw;
	__asm__ __volatile__("fnstcw %0" : "=m"(cw));
	if (id % 2) {
		cw &= ~(3u << 8);
		__asm__ __volatile__("fldcw %0" : : "m"(cw));
	}
	uint8_t in[512], out[512];
	struct timespec ts = {0, 100000};
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 512; i++)
			in[i] = (uint8_t)(id * 31 + r * 7 + i);
		long nr = r % 3 == 0 ? 24 : 35;             /* sched_yield, nanosleep */
		long a0 = nr == 35 ? (long)&ts : 0;
		if (id % 4 == 2 && r % 2) {
			/* Values live on the x87 stack across the park. */
			double x[2] = {0, 0}, want[2];
			x87_pair(want);                     /* as this thread's CW rounds */
			long ret = x87_call(nr, a0, x);
			CHECK(ret == 0, "syscall %ld returned %ld", nr, ret);
			CHECK(x[0] == want[0] && x[1] == want[1], "thread %ld: x87 stack %.17g %g after a park, want %.17g %g",
			      id, x[0], x[1], want[0], want[1]);
		} else {
			memset(out, 0, sizeof out);
			long ret = call_with_vectors(wide, nr, a0, 0, in, out);
			CHECK(ret == 0, "syscall %ld returned %ld", nr, ret);
			for (int k = 0; k < 16; k++)
				CHECK(!memcmp(in + 32 * k, out + 32 * k, wide ? 32 : 16),
				      "thread %ld round %d: vector register %d changed", id, r, k);
		}
		CHECK(x87_sum8() == 8.0, "thread %ld round %d: the x87 stack was not empty", id, r);
		CHECK(fegetround() == mode, "thread %ld: rounding mode %d, want %d", id, fegetround(), mode);
		uint16_t now;
		__asm__ __volatile__("fnstcw %0" : "=m"(now));
		CHECK(now == cw, "thread %ld: x87 CW %#x", id, now);
	}
	return 0;
}

/* Phase 2: one thread parks with values on the x87 stack while another,
 * SSE only, resumes on the same ethread: it must find the stack empty. */
static void *x87_only(void *arg)
{
	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		double x[2], want[2];
		x87_pair(want);
		CHECK(x87_call(24, 0, x) == 0 && x[0] == want[0] && x[1] == want[1], "x87 stack lost");
	}
	return 0;
}

static void *sse_only(void *arg)
{
	(void)arg;
	uint8_t in[512], out[512];
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 512; i++)
			in[i] = (uint8_t)(r + i);
		CHECK(call_with_vectors(0, 24, 0, 0, in, out) == 0, "yield");
		for (int k = 0; k < 16; k++)
			CHECK(!memcmp(in + 32 * k, out + 32 * k, 16), "phase 2 round %d: xmm%d changed", r, k);
		CHECK(x87_sum8() == 8.0, "phase 2 round %d: the x87 stack was not empty", r);
	}
	return 0;
}

int test_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	__builtin_cpu_init();
	avx = __builtin_cpu_supports("avx") != 0;
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], 0, worker, (void *)i);
	for (long i = 0; i < N; i++)
		pthread_join(t[i], 0);
	pthread_create(&t[0], 0, x87_only, 0);
	pthread_create(&t[1], 0, sse_only, 0);
	pthread_join(t[0], 0);
	pthread_join(t[1], 0);
	printf("ok vector avx=%d\n", avx);
	return 0;
}
