/*
 * sthreads (DESIGN.md §5): each owns one queue pair, takes requests in
 * order, runs them, posts the results. When idle it spins SCONE_SSPINS
 * polls, then backs off with naps that double from 1 us until
 * SCONE_SSLEEP us have passed (a hand-back from the poller ends a nap at
 * once), then sleeps: in scone.ko when the module is
 * in use (it wakes the thread when a request is posted), else on a futex
 * that the enclave wakes after seeing sthread_state SLEEPING.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "scone_kmod_user.h"

#include "blocking.h"
#include "hostcall.h"
#include "hostile.h"
#include "sthreads.h"

#define ARENA_UNIT (128u << 10)
#define ASYNC_UNITS_MAX 1024u   /* calls in flight, blocked ones included (host memory is reserved lazily) */

struct scone_sthread {
	struct scone_queue_pair *qp;
	struct scone_syscall_area *area;
	struct scone_request *req;
	struct scone_response *rsp;
	uint32_t mask;
	uint32_t sspins, ssleep_us;
	int kmod_fd;
	uint32_t kmod_id;
	struct scone_blocking_owner blocking;
	uint32_t handed_back;      /* bumped by each hand-back: our second futex word */
	int napping;               /* in a back-off nap: a hand-back ends it */
};

/* The poller hands a parked call back: make sure the sthread looks. The
 * bump happens before the looks at the nap flag and the state, so a nap or
 * sleep that begins after it sees a changed word and returns at once (nap,
 * sleep_deep). A hand-back is often what the sthread waits for next (a
 * server's epoll_wait): waiting out the nap cost a lone client most of
 * its throughput. */
static void blocking_wake(void *arg)
{
	struct scone_sthread *t = arg;
	__atomic_fetch_add(&t->handed_back, 1, __ATOMIC_SEQ_CST);
	int sleeping = __atomic_load_n(&t->qp->sthread_state.value, __ATOMIC_SEQ_CST) == SCONE_STHREAD_SLEEPING;
	if (sleeping || __atomic_load_n(&t->napping, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &t->handed_back, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	if (sleeping)
		syscall(SYS_futex, &t->qp->req_tail.value, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static long futex(void *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static uint32_t acquire(struct scone_ring_index *i)
{
	return __atomic_load_n(&i->value, __ATOMIC_ACQUIRE);
}

static void release(struct scone_ring_index *i, uint32_t v)
{
	__atomic_store_n(&i->value, v, __ATOMIC_RELEASE);
}

static void respond(struct scone_sthread *t, uint32_t *rsp_tail, int64_t nr, uint64_t cookie, long ret)
{
	/* The enclave keeps at most `entries` calls outstanding, so this only
	 * waits if it broke that promise. */
	while (*rsp_tail - acquire(&t->qp->rsp_head) > t->mask)
		sched_yield();
	struct scone_response r = { .cookie = cookie, .ret = ret };
	memcpy(&t->rsp[*rsp_tail & t->mask], &r, sizeof r);
	++*rsp_tail;
	scone_hostile_respond(nr, t->qp, t->rsp, t->mask, rsp_tail);
	release(&t->qp->rsp_tail, *rsp_tail);
	/* Pairs with the enclave's store of SLEEPING before its last poll. */
	atomic_thread_fence(memory_order_seq_cst);
	if (__atomic_load_n(&t->qp->enclave_state.value, __ATOMIC_RELAXED) == SCONE_ENCLAVE_SLEEPING) {
		__atomic_fetch_add(&t->area->enclave_wake.value, 1, __ATOMIC_SEQ_CST);
		futex(&t->area->enclave_wake.value, FUTEX_WAKE_PRIVATE, INT_MAX);
	}
}

/* A back-off nap of us microseconds that a hand-back ends early (the
 * enclave's requests still wait for its end: waking us would cost it an exit). */
static void nap(struct scone_sthread *t, uint32_t us)
{
	struct timespec ts = { 0, (long)us * 1000 };
	uint32_t seq = __atomic_load_n(&t->handed_back, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->napping, 1, __ATOMIC_SEQ_CST);
	if (!atomic_load(&t->blocking.back))
		syscall(SYS_futex, &t->handed_back, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
	__atomic_store_n(&t->napping, 0, __ATOMIC_RELAXED);
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

struct waitv {
	uint64_t val, uaddr;
	uint32_t flags, reserved;
};

/* Sleep until a request may be there: in the module, or on two futex words
 * at once. req_tail itself: a request posted after our look changes it, so
 * the wait returns at once instead of missing the enclave's wake-up; and
 * handed_back, which the poller bumps for the same reason. Without
 * futex_waitv (Linux < 5.16) only req_tail is watched and a 20 ms timeout
 * bounds what a hand-back that races with the sleep costs. */
static void sleep_deep(struct scone_sthread *t, uint32_t head)
{
	if (t->kmod_fd >= 0) {
		scone_kmod_wait(t->kmod_fd, t->kmod_id, 0);   /* 0, -EINTR: look again */
		return;
	}
	static int no_waitv;
	uint32_t seq = __atomic_load_n(&t->handed_back, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->qp->sthread_state.value, SCONE_STHREAD_SLEEPING, __ATOMIC_SEQ_CST);
	if (acquire(&t->qp->req_tail) == head && !atomic_load(&t->blocking.back)) {
		struct waitv w[2] = {
			{ .val = head, .uaddr = (uintptr_t)&t->qp->req_tail.value, .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE },
			{ .val = seq, .uaddr = (uintptr_t)&t->handed_back, .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE },
		};
		if (__atomic_load_n(&no_waitv, __ATOMIC_RELAXED) ||
		    (syscall(SYS_futex_waitv, w, 2, 0, NULL, CLOCK_MONOTONIC) < 0 && errno == ENOSYS)) {
			__atomic_store_n(&no_waitv, 1, __ATOMIC_RELAXED);
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			syscall(SYS_futex, &t->qp->req_tail.value, FUTEX_WAIT_PRIVATE, head, &ts, NULL, 0);
		}
	}
	__atomic_store_n(&t->qp->sthread_state.value, SCONE_STHREAD_RUNNING, __ATOMIC_SEQ_CST);
}

void *scone_sthread_main(void *arg)
{
	struct scone_sthread *t = arg;
	uint32_t head = 0, rsp_tail = 0, idle = 0, slept = 0, step = 1;
	/* Back-off naps of a few microseconds: without this the kernel's
	 * default 50 us timer slack makes each one cost a whole call's worth. */
	prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);
	for (;;) {
		struct scone_parked *back = scone_blocking_take(&t->blocking);
		while (back) {
			struct scone_request r;
			long ret;
			if (scone_blocking_retry(&t->blocking, back, &back, &r, &ret))
				respond(t, &rsp_tail, r.nr, r.cookie, ret);
			idle = slept = 0;
			step = 1;
		}
		uint32_t tail = acquire(&t->qp->req_tail);
		if (tail != head) {
			struct scone_request r;
			long ret;
			memcpy(&r, &t->req[head & t->mask], sizeof r);
			release(&t->qp->req_head, ++head);
			if (r.nr == SCONE_QUEUE_NR_CANCEL) {
				scone_blocking_kick();
				ret = 0;
				respond(t, &rsp_tail, r.nr, r.cookie, ret);
			} else if (scone_blocking_run(&t->blocking, &r, &ret))
				respond(t, &rsp_tail, r.nr, r.cookie, ret);
			idle = slept = 0;
			step = 1;
			continue;
		}
		if (idle < t->sspins) {
			idle++;
			_mm_pause();
		} else if (t->kmod_fd < 0 && slept < t->ssleep_us) {
			nap(t, step);
			slept += step;
			step = step < 1024 ? step * 2 : step;
		} else {
			sleep_deep(t, head);
			idle = slept = 0;
			step = 1;
		}
	}
	return NULL;
}

static int map(void **p, size_t bytes, char *err, size_t errlen, const char *what)
{
	*p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %zu bytes for the %s: %s; lower SCONE_QUEUES or SCONE_SLOTS",
			 bytes, what, strerror(errno));
		return -1;
	}
	return 0;
}

static int start_threads(struct scone_syscalls *s, const struct scone_knobs *k, char *err, size_t errlen)
{
	size_t pb = scone_queue_pair_bytes(k->slots);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (uint32_t q = 0; q < k->queues; q++) {
		struct scone_queue_pair *qp = (void *)((char *)s->pairs + q * pb);
		qp->magic = SCONE_QUEUE_MAGIC;
		qp->version = SCONE_QUEUE_VERSION;
		qp->entries = k->slots;
		static struct scone_sthread ts[SCONE_QUEUES_MAX];
		struct scone_sthread *t = &ts[q];
		*t = (struct scone_sthread){
			.qp = qp, .area = s->area,
			.req = (void *)((char *)qp + SCONE_QUEUE_REQ_OFFSET),
			.mask = k->slots - 1, .sspins = k->sspins, .ssleep_us = k->ssleep_us,
			.kmod_fd = s->kmod_fd,
		};
		t->rsp = (void *)(t->req + k->slots);
		/* The module cannot be told about hand-backs: with it, blocking
		 * calls run on the sthread as before. */
		t->blocking.wake = s->kmod_fd >= 0 ? NULL : blocking_wake;
		t->blocking.arg = t;
		t->blocking.cancel = (const uint64_t *)((char *)qp + SCONE_QUEUE_CANCEL_OFFSET(k->slots));
		t->blocking.mask = k->slots - 1;
		if (s->kmod_fd >= 0) {
			int rc = scone_kmod_register(s->kmod_fd, qp, k->slots, &t->kmod_id);
			if (rc) {
				scone_kmod_strerror(SCONE_KMOD_OP_REGISTER, rc, err, errlen);
				return -1;
			}
		}
		pthread_t th;
		int rc = pthread_create(&th, &attr, scone_sthread_main, t);
		if (rc) {
			snprintf(err, errlen, "cannot start sthread %u: %s; lower SCONE_STHREADS", q, strerror(rc));
			return -1;
		}
	}
	return 0;
}

int scone_syscalls_start(struct scone_syscalls *s, const struct scone_knobs *k,
			 uint32_t tcs_count, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->kmod_fd = -1;
	uint32_t async_units = 1;
	if (k->async) {
		async_units = k->queues * k->slots;
		if (async_units > ASYNC_UNITS_MAX)
			async_units = ASYNC_UNITS_MAX;
	}
	uint32_t units = async_units + tcs_count;
	s->arena_bytes = (size_t)units * ARENA_UNIT;
	s->pairs_bytes = k->async ? scone_queue_pair_bytes(k->slots) * k->queues : 0;
	void *area, *arena;
	if (map(&area, 4096, err, errlen, "syscall area") ||
	    map(&arena, s->arena_bytes, err, errlen, "syscall arena") ||
	    (k->async && map(&s->pairs, s->pairs_bytes, err, errlen, "syscall queues")))
		return -1;
	s->area = area;
	*s->area = (struct scone_syscall_area){
		.magic = SCONE_SYSCALL_AREA_MAGIC, .version = SCONE_QUEUE_VERSION,
		.flags = k->async ? SCONE_SYSCALL_ASYNC | (k->adaptive ? SCONE_SYSCALL_ADAPTIVE : 0) : 0,
		.queues = k->async ? k->queues : 0, .entries = k->async ? k->slots : 0,
		.pairs = (uint64_t)(uintptr_t)s->pairs, .arena = (uint64_t)(uintptr_t)arena,
		.arena_unit = ARENA_UNIT, .arena_units = units, .espins = k->espins,
		.pid = (uint32_t)getpid(), .tid = (uint32_t)syscall(SYS_gettid),
	};
	if (!k->async)
		return 0;
	if (k->kmod_mode != SCONE_KMOD_OFF) {
		int fd = scone_kmod_open(NULL, (enum scone_kmod_mode)k->kmod_mode);
		if (fd < 0 && k->kmod_mode == SCONE_KMOD_ON) {
			scone_kmod_strerror(SCONE_KMOD_OP_OPEN, fd, err, errlen);
			return -1;
		}
		s->kmod_fd = fd < 0 ? -1 : fd;
		if (fd >= 0)
			s->area->flags |= SCONE_SYSCALL_KMOD;
	}
	return start_threads(s, k, err, errlen);
}
