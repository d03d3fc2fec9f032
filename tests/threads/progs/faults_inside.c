/* A program's own handlers for the faults its code raises, run inside
 * the enclave as the kernel runs them natively: argv[1] picks the case.
 * The same program built --scone-native prints the same lines. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static sigjmp_buf back;
static volatile uintptr_t seen_addr;
static volatile int seen_code, seen_sig;
static int calls;

/* A load of *p whose instruction is 2 bytes long (8b 07). */
static int load(const int *p)
{
	int v;
	__asm__ __volatile__("movl (%1), %0" : "=a"(v) : "D"(p) : "memory");
	return v;
}

static void skip(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	seen_sig = sig, seen_code = si->si_code, seen_addr = (uintptr_t)si->si_addr;
	calls++;
	uc->uc_mcontext.gregs[REG_RIP] += 2;      /* past the 2-byte instruction */
	uc->uc_mcontext.gregs[REG_RAX] = 42;      /* what the load "read" */
}

static void jump(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	seen_sig = sig, seen_code = si->si_code, seen_addr = (uintptr_t)si->si_addr;
	calls++;
	siglongjmp(back, 1);
}

static void count(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST);
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_RAX] = 1;
}

/* Faults on many threads at once: each handler runs on its own thread. */
static void *faulter(void *arg)
{
	long sum = 0;
	for (int i = 0; i < 200; i++) {
		sum += load((const int *)(uintptr_t)(0x40 + (long)arg));
		if (i % 10 == 0)
			sched_yield();
	}
	return (void *)sum;
}

static void on(int sig, void (*h)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO;
	sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(c, "segv-skip")) {
		on(SIGSEGV, skip);
		volatile double acc = 0.5;
		long sum = 0;
		for (int i = 0; i < 3; i++) {
			sum += load((const int *)(uintptr_t)(0x10 + i));
			acc *= 3;
		}
		printf("sum %ld acc %.1f calls %d sig %d code %d addr %#lx\n", sum, acc, calls, seen_sig,
		       seen_code, (unsigned long)seen_addr);
	} else if (!strcmp(c, "segv-longjmp")) {
		on(SIGSEGV, jump);
		for (volatile int i = 0; i < 3; i++)
			if (!sigsetjmp(back, 1))
				load((const int *)(uintptr_t)(0x1000 * (i + 1) + 8));
		sigset_t m;
		sigprocmask(SIG_BLOCK, NULL, &m);
		printf("calls %d addr %#lx code %d, SIGSEGV blocked after: %d\n", calls, (unsigned long)seen_addr,
		       seen_code, sigismember(&m, SIGSEGV));
	} else if (!strcmp(c, "fpe")) {
		on(SIGFPE, jump);
		volatile int zero = 0, r = 0;
		if (!sigsetjmp(back, 1))
			r = 7 / zero;
		printf("r %d sig %d code %d (FPE_INTDIV %d) calls %d\n", r, seen_sig, seen_code, FPE_INTDIV, calls);
	} else if (!strcmp(c, "ill")) {
		on(SIGILL, skip);
		extern char ud2_at[];
		__asm__ __volatile__("ud2_at: ud2" ::: "memory");
		printf("sig %d code %d (ILL_ILLOPN %d) at the ud2: %d calls %d\n", seen_sig, seen_code, ILL_ILLOPN,
		       seen_addr == (uintptr_t)ud2_at, calls);
	} else if (!strcmp(c, "threads")) {
		on(SIGSEGV, count);
		pthread_t t[4];
		long total = 0;
		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, faulter, (void *)i);
		for (int i = 0; i < 4; i++) {
			void *r;
			pthread_join(t[i], &r);
			total += (long)r;
		}
		printf("sum %ld calls %d\n", total, calls);
	} else if (!strcmp(c, "unhandled")) {
		printf("before\n");
		load((const int *)(uintptr_t)0x10);
		printf("after\n");
	} else if (!strcmp(c, "blocked")) {
		on(SIGSEGV, skip);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGSEGV);
		sigprocmask(SIG_BLOCK, &m, NULL);
		printf("before\n");
		load((const int *)(uintptr_t)0x10);
		printf("after\n");
	} else {
		return 2;
	}
	return 0;
}
