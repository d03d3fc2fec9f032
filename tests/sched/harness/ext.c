/*
 * Test scaffolding standing in for the asynchronous syscall path: an
 * "external" call posts a request to a list that native stand-in sthreads
 * execute with a real system call, and the result comes back through
 * __scone_poll -> __scone_wake, as the real client will do it. It is here
 * to drive the scheduler's wait/poll/wake contract (runtime/trusted/wait.h),
 * not to replace the syscall path.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "harness.h"
#include "raw.h"

#define NSTHREADS 4

struct req {
	long nr, a[6];
	struct scone_waiter w;
	struct req *next;
	long ret;
};

static struct req *_Atomic pending;      /* posted, LIFO; sthreads take all */
static struct req *_Atomic done;          /* completed, harvested by poll */
static atomic_int pending_word;           /* futex the sthreads sleep on */
atomic_long harness_ext_calls, harness_ext_wakes;

static void push(struct req *_Atomic *list, struct req *r)
{
	struct req *h = atomic_load(list);
	do
		r->next = h;
	while (!atomic_compare_exchange_weak(list, &h, r));
}

static struct req *take_one(void)
{
	/* Single pop under contention of a few sthreads: take all, push back
	 * the rest (the order among concurrent calls does not matter). */
	struct req *all = atomic_exchange(&pending, 0);
	if (!all)
		return 0;
	if (all->next) {
		struct req *rest = all->next, *last = rest;
		while (last->next)
			last = last->next;
		struct req *h = atomic_load(&pending);
		do
			last->next = h;
		while (!atomic_compare_exchange_weak(&pending, &h, rest));
		atomic_fetch_add(&pending_word, 1);
		raw3(NR_futex, &pending_word, 1 | 128, 1);
	}
	return all;
}

static void sthread(void *arg)
{
	(void)arg;
	for (;;) {
		int seen = atomic_load(&pending_word);
		struct req *r = take_one();
		if (!r) {
			raw4(NR_futex, &pending_word, 0 | 128, seen, 0);
			continue;
		}
		r->ret = raw6(r->nr, r->a[0], r->a[1], r->a[2], r->a[3], r->a[4], r->a[5]);
		push(&done, r);
		harness_kick_sleepers();
	}
}

int harness_ext_pending(void)
{
	return atomic_load(&done) != 0;
}

long harness_ext_call(long nr, const long a[6])
{
	struct req r = {.nr = nr};
	for (int i = 0; i < 6; i++)
		r.a[i] = a[i];
	atomic_fetch_add(&harness_ext_calls, 1);
	push(&pending, &r);
	atomic_fetch_add(&pending_word, 1);
	raw3(NR_futex, &pending_word, 1 | 128, 1);
	__scone_wait(&r.w);
	return r.w.result;
}

int __scone_poll(void)
{
	struct req *r = atomic_exchange(&done, 0);
	int n = 0;
	while (r) {
		struct req *nx = r->next;
		__scone_wake(&r->w, r->ret);
		atomic_fetch_add(&harness_ext_wakes, 1);
		r = nx;
		n++;
	}
	return n;
}

void harness_start_sthreads(void)
{
	for (int i = 0; i < NSTHREADS; i++)
		harness_spawn((char *)harness_alloc(256 << 10) + (256 << 10), sthread, 0);
}
