/*
 * The scheduler under AddressSanitizer/UBSan or ThreadSanitizer, in a
 * host-libc program: ethreads are pthreads, lthreads are made as musl's
 * __clone makes them (lt.S) and use futex-based locks built the way musl
 * builds them, calling the scheduler's entry points directly (no syscall
 * hook here). lthread memory and stacks
 * come from malloc and go back to free (SCONE_SCHED_NO_CACHE), so that an
 * access after exit, after __unmapself or after a wake shows.
 * Usage: asan_sched [lthreads] [rounds]; SCHED_ETHREADS (2).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scone_sched.h"
#include "wait.h"

long lt_spawn(int (*fn)(void *), void *arg, void *stack_top, int *ctid);

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fputc('\n', stderr); _exit(1); } while (0)

enum { WAIT = 128, WAKE = 129, CMP_REQUEUE = 132, STACK = 64 << 10 };

static long fx(atomic_int *a, int op, int v, const void *t, atomic_int *a2, int v3)
{
	return __scone_sched_futex((uint32_t *)a, op, (uint32_t)v, (uintptr_t)t, (uint32_t *)a2, (uint32_t)v3);
}

/* ---- locks as musl builds them: futex words, waits and requeues ---- */
static void lock(atomic_int *m)
{
	int c = 0;
	if (atomic_compare_exchange_strong(m, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(m, 2);
	while (c) {
		fx(m, WAIT, 2, 0, 0, 0);
		c = atomic_exchange(m, 2);
	}
}

static void unlock(atomic_int *m)
{
	if (atomic_exchange(m, 0) == 2)
		fx(m, WAKE, 1, 0, 0, 0);
}

struct cond {
	atomic_int seq;
};

static void cond_wait(struct cond *c, atomic_int *m)
{
	int s = atomic_load(&c->seq);
	unlock(m);
	fx(&c->seq, WAIT, s, 0, 0, 0);
	/* Requeued waiters come back through the mutex: take it contended. */
	int v = atomic_exchange(m, 2);
	while (v) {
		fx(m, WAIT, 2, 0, 0, 0);
		v = atomic_exchange(m, 2);
	}
}

static void cond_broadcast(struct cond *c, atomic_int *m)
{
	int s = atomic_fetch_add(&c->seq, 1) + 1;
	fx(&c->seq, CMP_REQUEUE, 1, (void *)(uintptr_t)0x7fffffff, m, s);
}

struct barrier {
	atomic_int count, gen;
	int n;
};

static void barrier_wait(struct barrier *b)
{
	int g = atomic_load(&b->gen);
	if (atomic_fetch_add(&b->count, 1) + 1 == b->n) {
		atomic_store(&b->count, 0);
		atomic_fetch_add(&b->gen, 1);
		fx(&b->gen, WAKE, 0x7fffffff, 0, 0, 0);
		return;
	}
	while (atomic_load(&b->gen) == g)
		fx(&b->gen, WAIT, g, 0, 0, 0);
}

static atomic_int sem_val, sem_waiters;

static void sem_down(void)
{
	for (;;) {
		int v = atomic_load(&sem_val);
		if (v > 0 && atomic_compare_exchange_weak(&sem_val, &v, v - 1))
			return;
		atomic_fetch_add(&sem_waiters, 1);
		fx(&sem_val, WAIT, 0, 0, 0, 0);
		atomic_fetch_sub(&sem_waiters, 1);
	}
}

static void sem_up(void)
{
	atomic_fetch_add(&sem_val, 1);
	if (atomic_load(&sem_waiters))
		fx(&sem_val, WAKE, 1, 0, 0, 0);
}

/* ---- stand-in external calls completed by a helper pthread ---- */
struct req {
	struct scone_waiter w;
	long arg;
	struct req *next;
};
static struct req *_Atomic posted, *_Atomic completed;

static void *helper(void *arg)
{
	(void)arg;
	for (;;) {
		struct req *r = atomic_exchange(&posted, 0);
		if (!r) {
			usleep(20);
			continue;
		}
		while (r) {
			struct req *nx = r->next;
			struct req *h = atomic_load(&completed);
			do
				r->next = h;
			while (!atomic_compare_exchange_weak(&completed, &h, r));
			r = nx;
		}
	}
	return 0;
}

int __scone_poll(void)
{
	struct req *r = atomic_exchange(&completed, 0);
	int n = 0;
	for (; r; n++) {
		struct req *nx = r->next;
		__scone_wake(&r->w, r->arg * 2);
		r = nx;
	}
	return n;
}

static long ext_call(long arg)
{
	struct req *r = calloc(1, sizeof *r);      /* freed at once after: a late wake shows */
	r->arg = arg;
	struct req *h = atomic_load(&posted);
	do
		r->next = h;
	while (!atomic_compare_exchange_weak(&posted, &h, r));
	__scone_wait(&r->w);
	long v = r->w.result;
	free(r);
	return v;
}

/* ---- the ops: host libc ---- */
static atomic_int permit[SCONE_SCHED_MAX_ETHREADS];

static uint64_t now(int clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void idle(unsigned e, uint64_t deadline)
{
	(void)deadline;
	/* A short nap: permits are polled (the futex version is tested in
	 * the musl harness). */
	for (int i = 0; i < 50 && !atomic_exchange(&permit[e], 0); i++)
		usleep(10);
}

static void kick(unsigned e) { atomic_store(&permit[e], 1); }
static void *zalloc(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (p)
		memset(p, 0, n);
	return p;
}
static void release(void *p, size_t n) { (void)n; free(p); }
static void unmap(uintptr_t base, size_t n) { (void)n; free((void *)base); }
static _Noreturn void exit_all(int status) { _exit(status); }

static const struct scone_sched_ops ops = {
	.now = now, .idle = idle, .kick = kick, .alloc = zalloc, .release = release,
	.unmap = unmap, .exit_all = exit_all,
};

static struct { uint64_t w[16]; } __attribute__((aligned(64))) pages[SCONE_SCHED_MAX_ETHREADS];

static void *ethread(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	__asm__ __volatile__("wrgsbase %0" : : "r"(&pages[i]));
	__scone_sched_ethread_main(i);
}

/* ---- the workload ---- */
static int n_lt = 200, rounds = 10;
static atomic_int m = 0, cm = 0;
static long counter, handoffs;
static struct cond cv;
static int turn;
static struct barrier bar;
static atomic_int inside, inside_max, detached_done, timeouts;

static int worker(void *arg)
{
	long id = (long)arg;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 10; i++) {
			lock(&m);
			counter++;
			unlock(&m);
		}
		lock(&cm);
		while (turn != id % 4) {
			cond_wait(&cv, &cm);
		}
		turn = (turn + 1) % 4;
		handoffs++;
		cond_broadcast(&cv, &cm);
		unlock(&cm);

		sem_down();
		int now_in = atomic_fetch_add(&inside, 1) + 1;
		int mx = atomic_load(&inside_max);
		while (now_in > mx && !atomic_compare_exchange_weak(&inside_max, &mx, now_in))
			;
		__scone_sched_yield();
		atomic_fetch_sub(&inside, 1);
		sem_up();

		if (ext_call(id) != 2 * id)
			FAIL("external call result");
		if (r % 5 == 0) {
			atomic_int never = 0;
			struct { long s, ns; } t = {0, 200000};
			if (fx(&never, WAIT, 0, &t, 0, 0) != -110)
				FAIL("timed wait did not time out");
			atomic_fetch_add(&timeouts, 1);
			struct { long s, ns; } nap = {0, 100000};
			__scone_sched_nanosleep(&nap, 0);
		}
		barrier_wait(&bar);
	}
	return (int)id;
}

static int detached(void *arg)
{
	atomic_fetch_add(&detached_done, 1);
	__scone_sched_unmapself((uintptr_t)arg, STACK);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n_lt = atoi(argv[1]);
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (n_lt % 4)
		FAIL("lthreads must be a multiple of 4");
	const char *v = getenv("SCHED_ETHREADS");
	unsigned ne = v ? (unsigned)atoi(v) : 2;
	struct scone_sched_config cfg = {.ethreads = ne, .espins = 100, .main_tid = gettid(), .hwcap2 = 2};
	__asm__ __volatile__("wrgsbase %0" : : "r"(&pages[0]));
	if (__scone_sched_init(&ops, &cfg))
		FAIL("init");
	pthread_t h;
	pthread_create(&h, 0, helper, 0);
	for (unsigned i = 1; i < ne; i++) {
		pthread_t t;
		pthread_create(&t, 0, ethread, (void *)(uintptr_t)i);
	}
	bar.n = n_lt;
	atomic_store(&sem_val, 3);
	int *ctid = calloc(n_lt, sizeof *ctid);
	char **stacks = calloc(n_lt, sizeof *stacks);
	for (long i = 0; i < n_lt; i++) {
		stacks[i] = malloc(STACK);
		ctid[i] = 1;
		if (lt_spawn(worker, (void *)i, stacks[i] + STACK, &ctid[i]) <= 0)
			FAIL("spawn %ld", i);
	}
	enum { NDET = 100 };
	for (int i = 0; i < NDET; i++) {
		char *s = malloc(STACK);
		if (lt_spawn(detached, s, s + STACK, 0) <= 0)
			FAIL("spawn detached");
	}
	/* join: clear-child-tid, as pthread_join waits for it */
	for (long i = 0; i < n_lt; i++) {
		int c;
		while ((c = __atomic_load_n(&ctid[i], __ATOMIC_SEQ_CST)) != 0)
			fx((atomic_int *)&ctid[i], WAIT, c, 0, 0, 0);
		free(stacks[i]);
	}
	while (atomic_load(&detached_done) < NDET)
		__scone_sched_yield();
	long want = (long)n_lt * rounds * 10;
	if (counter != want || handoffs != (long)n_lt * rounds)
		FAIL("counter %ld (want %ld), handoffs %ld", counter, want, handoffs);
	if (inside_max < 1 || inside_max > 3)
		FAIL("semaphore let %d in", inside_max);
	if (timeouts != n_lt * ((rounds + 4) / 5))
		FAIL("timeouts %d", timeouts);
	printf("ok sanitized lthreads=%d rounds=%d\n", n_lt, rounds);
	fflush(stdout);
	_exit(0);
}
