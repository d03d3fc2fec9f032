/*
 * Futex operations as futex(2) and the kernel define them, through raw
 * syscall(SYS_futex): value mismatch, timeouts (relative, absolute
 * monotonic, absolute realtime), wake counts, bitsets, requeue, cmp-requeue,
 * wake-op, argument errors, and a ping-pong that would hang on a lost
 * wake-up. The same program runs natively against the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

/* linux/futex.h values (futex(2)); the C library has no header for them. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_REQUEUE_PRIVATE 131
#define FUTEX_CMP_REQUEUE_PRIVATE 132
#define FUTEX_WAKE_OP_PRIVATE 133
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_WAKE_BITSET_PRIVATE 138
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5
#define FUTEX_OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

int test_main(int argc, char **argv);

static long fx(void *a, int op, uint32_t val, const void *t, void *a2, uint32_t val3)
{
	long r = syscall(SYS_futex, a, op, val, t, a2, val3);
	return r < 0 ? -errno : r;
}

struct waiter {
	uint32_t *addr;
	uint32_t val, bitset;
	long ret;
	pthread_t t;
};

static atomic_int started;

static void *wait_thread(void *p)
{
	struct waiter *w = p;
	atomic_fetch_add(&started, 1);
	w->ret = fx(w->addr, w->bitset ? FUTEX_WAIT_BITSET_PRIVATE : FUTEX_WAIT_PRIVATE, w->val, 0, 0,
		    w->bitset);
	return 0;
}

/* Start n waiters and give them time to block (a waiter that has not yet
 * blocked only makes a wake count smaller, which the checks would catch). */
static void start(struct waiter *w, int n, uint32_t *addr, uint32_t val, uint32_t bitset)
{
	atomic_store(&started, 0);
	for (int i = 0; i < n; i++) {
		w[i] = (struct waiter){.addr = addr, .val = val, .bitset = bitset, .ret = 1};
		pthread_create(&w[i].t, 0, wait_thread, &w[i]);
	}
	while (atomic_load(&started) < n)
		usleep(1000);
	usleep(50000);
}

static int joined(struct waiter *w, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].t, 0);
		CHECK(w[i].ret == 0, "waiter %d returned %ld", i, w[i].ret);
		k++;
	}
	return k;
}

static uint32_t A, B;

static void timeouts(void)
{
	uint32_t v = 7;
	CHECK(fx(&v, FUTEX_WAIT_PRIVATE, 8, 0, 0, 0) == -EAGAIN, "mismatch must be EAGAIN");

	struct timespec rel = {0, 40 * 1000000};
	long long t0 = mono_ns();
	long r = fx(&v, FUTEX_WAIT_PRIVATE, 7, &rel, 0, 0);
	long long dt = mono_ns() - t0;
	CHECK(r == -ETIMEDOUT && dt >= 40000000, "relative timeout: %ld after %lld ns", r, dt);

	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 30 * 1000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	r = fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, &abs, 0, FUTEX_BITSET_MATCH_ANY);
	CHECK(r == -ETIMEDOUT && mono_ns() >= abs.tv_sec * 1000000000ll + abs.tv_nsec,
	      "absolute monotonic timeout: %ld", r);

	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	long long rt_deadline = rt.tv_sec * 1000000000ll + rt.tv_nsec + 30000000;
	rt.tv_sec = rt_deadline / 1000000000;
	rt.tv_nsec = rt_deadline % 1000000000;
	r = fx(&v, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 7, &rt, 0, FUTEX_BITSET_MATCH_ANY);
	struct timespec after;
	clock_gettime(CLOCK_REALTIME, &after);
	CHECK(r == -ETIMEDOUT && after.tv_sec * 1000000000ll + after.tv_nsec >= rt_deadline,
	      "absolute realtime timeout: %ld", r);

	struct timespec past = {0, 0};
	r = fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, &past, 0, FUTEX_BITSET_MATCH_ANY);
	CHECK(r == -ETIMEDOUT, "deadline in the past: %ld", r);
	struct timespec bad = {0, 1000000000};
	CHECK(fx(&v, FUTEX_WAIT_PRIVATE, 7, &bad, 0, 0) == -EINVAL, "tv_nsec = 1e9 must be EINVAL");
	CHECK(fx(&v, FUTEX_WAIT_BITSET_PRIVATE, 7, 0, 0, 0) == -EINVAL, "bitset 0 must be EINVAL");
	CHECK(fx((char *)&v + 1, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) == -EINVAL, "unaligned must be EINVAL");
	CHECK(fx(&v, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) == 0, "wake with no waiter wakes 0");
}

static void wakes(void)
{
	struct waiter w[8];
	A = 0;
	start(w, 5, &A, 0, 0);
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, 2, 0, 0, 0) == 2, "wake 2 of 5");
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0) == 3, "wake the other 3");
	joined(w, 5);

	/* shared (non-private) waiters are woken by a shared wake */
	start(w, 2, &A, 0, 0);
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0) == 2, "private wake of private waiters");
	joined(w, 2);

	start(w, 2, &A, 0, 1);
	start(w + 2, 3, &A, 0, 2);
	CHECK(fx(&A, FUTEX_WAKE_BITSET_PRIVATE, 10, 0, 0, 2) == 3, "bitset 2 wakes its 3");
	CHECK(fx(&A, FUTEX_WAKE_BITSET_PRIVATE, 10, 0, 0, 4) == 0, "bitset 4 wakes none");
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0) == 2, "plain wake matches any bitset");
	joined(w, 5);
	CHECK(fx(&A, FUTEX_WAKE_BITSET_PRIVATE, 1, 0, 0, 0) == -EINVAL, "wake bitset 0 is EINVAL");
}

static void requeues(void)
{
	struct waiter w[8];
	A = 0;
	B = 0;
	start(w, 4, &A, 0, 0);
	/* The kernel returns woken + requeued. */
	CHECK(fx(&A, FUTEX_REQUEUE_PRIVATE, 1, (void *)2, &B, 0) == 3, "requeue 1 + 2");
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0) == 1, "one left on A");
	CHECK(fx(&B, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0) == 2, "two moved to B");
	joined(w, 4);

	start(w, 3, &A, 0, 0);
	CHECK(fx(&A, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10, &B, 1) == -EAGAIN, "cmp mismatch");
	CHECK(fx(&A, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10, &B, 0) == 3, "cmp requeue all 3");
	CHECK(fx(&A, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0) == 0, "none left on A");
	CHECK(fx(&B, FUTEX_WAKE_PRIVATE, 10, 0, 0, 0) == 3, "three on B");
	joined(w, 3);
	CHECK(fx(&A, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1, &B, 0) == -EINVAL, "negative count");
}

static void wake_ops(void)
{
	struct waiter w[4];
	A = 0;
	B = 5;
	start(w, 1, &A, 0, 0);
	start(w + 1, 1, &B, 5, 0);
	/* B += 3 (old 5); old == 5 holds: wake 1 on A and 1 on B. */
	long r = fx(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &B, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5));
	CHECK(r == 2 && B == 8, "wake-op add/eq: %ld, B=%u", r, B);
	joined(w, 2);

	start(w, 1, &A, 0, 0);
	start(w + 1, 1, &B, 8, 0);
	/* B = 1 << 4 (old 8); old > 100 fails: only A's waiter. */
	r = fx(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &B,
	       FUTEX_OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GT, 100));
	CHECK(r == 1 && B == 16, "wake-op set-shift/gt: %ld, B=%u", r, B);
	joined(w, 1);
	/* old 16 >= -1 (a sign-extended 12-bit cmparg); B = 16 ^ 0xf0 */
	r = fx(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &B, FUTEX_OP(FUTEX_OP_XOR, 0xf0, FUTEX_OP_CMP_GE, 0xfff));
	CHECK(r == 1 && B == (16 ^ 0xf0), "wake-op xor/ge: %ld, B=%u", r, B);
	pthread_join(w[1].t, 0);
	CHECK(fx(&A, FUTEX_WAKE_OP_PRIVATE, 1, 0, &B, 7u << 28) == -ENOSYS, "bad op is ENOSYS");
}

static atomic_uint turn;
enum { PINGS = 20000 };

static void *ponger(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < PINGS; i++) {
		unsigned t;
		while ((t = atomic_load(&turn)) % 2 != me)
			fx(&turn, FUTEX_WAIT_PRIVATE, t, 0, 0, 0);
		atomic_fetch_add(&turn, 1);
		fx(&turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	}
	return 0;
}

int test_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	timeouts();
	wakes();
	requeues();
	wake_ops();
	pthread_t p0, p1;
	pthread_create(&p0, 0, ponger, (void *)0);
	pthread_create(&p1, 0, ponger, (void *)1);
	pthread_join(p0, 0);
	pthread_join(p1, 0);
	CHECK(turn == 2 * PINGS, "ping-pong turn %u", turn);
	printf("ok futex\n");
	return 0;
}
