/*
 * The enclave's side of the queue pairs (queue_abi.h): post a request,
 * harvest responses, and the ethread's own wait until the M:N scheduler
 * replaces it (wait.h). Every index and slot read from host memory is
 * copied once, checked against what this enclave posted, then used; a
 * violation aborts the enclave with the reason.
 */
#include "../sched/scone_sched.h"
#include "client.h"

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define SYS_futex 202
#define HARVEST_BATCH 32

static void lock(struct scone_pair *p)
{
	while (atomic_flag_test_and_set_explicit(&p->lock, memory_order_acquire))
		__asm__ __volatile__("pause");
}

static void unlock(struct scone_pair *p)
{
	atomic_flag_clear_explicit(&p->lock, memory_order_release);
}

static uint32_t load_acquire(struct scone_ring_index *i)
{
	return __atomic_load_n(&i->value, __ATOMIC_ACQUIRE);
}

static void store_release(struct scone_ring_index *i, uint32_t v)
{
	__atomic_store_n(&i->value, v, __ATOMIC_RELEASE);
}

/* Post to p (pair q) if it has room; 1 if posted. */
static int try_post(struct scone_pair *p, uint32_t q, long nr, const long *args, struct scone_waiter *w)
{
	struct scone_client *c = &__scone_client;
	lock(p);
	uint32_t mask = c->entries - 1, slot = p->tail & mask, idx = slot;
	if (p->tail - p->head >= c->entries) {
		unlock(p);
		return 0;
	}
	/* The cookie names a pending entry, not the ring slot: a call parked
	 * outside keeps its entry for as long as it waits, while the ring moves
	 * on. Tying the two made every post wait, once the ring had wrapped,
	 * for whichever parked call held the slot under the tail (a pipe read
	 * waiting for the very write that could not be posted). Fewer than
	 * `entries` calls are outstanding, so a free entry exists. */
	while (p->pending[idx].w)
		idx = (idx + 1) & mask;
	/* Pairs have their own locks, so the generation counter is atomic. */
	uint64_t cookie = __atomic_add_fetch(&c->cookie_gen, 1ull << 32, __ATOMIC_RELAXED) | idx;
	p->pending[idx].cookie = cookie;
	p->pending[idx].w = w;
	struct scone_request r = { .nr = nr, .cookie = cookie };
	for (int i = 0; i < 6; i++)
		r.args[i] = args[i];
	__scone_memcpy(&p->req[slot], &r, sizeof r);
	store_release(&p->qp->req_tail, ++p->tail);
	unlock(p);
	/* What a signal cancels (sigtarget.c); a cancel itself is not cancelled. */
	if (nr != SCONE_QUEUE_NR_CANCEL && __scone_on_lthread())
		__scone_sched_ext_set(cookie, q);
	atomic_fetch_add_explicit(&c->posted, 1, memory_order_relaxed);
	if (c->kmod)
		return 1;
	/* Pairs with the sthread's store of SLEEPING before its last look at req_tail. */
	atomic_thread_fence(memory_order_seq_cst);
	if (__atomic_load_n(&p->qp->sthread_state.value, __ATOMIC_RELAXED) == SCONE_STHREAD_SLEEPING) {
		atomic_fetch_add_explicit(&c->woken, 1, memory_order_relaxed);
		__scone_ocall(SYS_futex, (long)&p->qp->req_tail.value, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	}
	return 1;
}

void __scone_post(long nr, const long host_args[6], struct scone_waiter *w)
{
	struct scone_client *c = &__scone_client;
	for (;;) {
		/* An idle pair first, so that a call blocking outside holds up nobody. */
		for (uint32_t q = 0; q < c->queues; q++) {
			struct scone_pair *p = &c->pairs[q];
			if (p->tail == p->head && try_post(p, q, nr, host_args, w))
				return;
		}
		for (uint32_t q = 0; q < c->queues; q++)
			if (try_post(&c->pairs[q], q, nr, host_args, w))
				return;
		/* Every ring is full: as for arena units (arena.c). */
		__scone_poll();
		if (__scone_on_lthread())
			__scone_sched_yield();
		else
			__asm__ __volatile__("pause");
	}
}

/* queue_abi.h "Cancellation": the word first, then the request that makes
 * the host look; returns once the host has looked. */
void __scone_cancel(uint32_t q, uint64_t cookie)
{
	struct scone_client *c = &__scone_client;
	if (!c->async || q >= c->queues)
		return;
	uint64_t *words = (uint64_t *)((char *)c->pairs[q].qp + SCONE_QUEUE_CANCEL_OFFSET(c->entries));
	__atomic_store_n(&words[cookie & (c->entries - 1)], cookie, __ATOMIC_SEQ_CST);
	struct scone_waiter w = { .done = 0 };
	static const long none[6];
	__scone_post(SCONE_QUEUE_NR_CANCEL, none, &w);
	__scone_wait(&w);
}

void __scone_cancel_own(void)
{
	uint64_t cookie;
	uint32_t q;
	if (__scone_sched_ext_get(&cookie, &q))
		__scone_cancel(q, cookie);
}

static int harvest(struct scone_pair *p, uint32_t q)
{
	struct scone_client *c = &__scone_client;
	struct { struct scone_waiter *w; long ret; } done[HARVEST_BATCH];
	int n = 0;
	/* A plain look first: an idle pair costs one shared read, no lock. */
	if (__atomic_load_n(&p->qp->rsp_tail.value, __ATOMIC_RELAXED) == __atomic_load_n(&p->head, __ATOMIC_RELAXED))
		return 0;
	if (atomic_flag_test_and_set_explicit(&p->lock, memory_order_acquire))
		return 0;
	uint32_t tail = load_acquire(&p->qp->rsp_tail);
	uint32_t ready = tail - p->head, outstanding = p->tail - p->head;
	if (ready > outstanding) {
		unlock(p);
		__scone_abortf("scone: queue pair %u: the host reports %u responses but only %u requests are outstanding; aborting the enclave",
			       q, ready, outstanding);
	}
	for (; ready && n < HARVEST_BATCH; ready--, n++) {
		struct scone_response r;
		__scone_memcpy(&r, &p->rsp[p->head & (c->entries - 1)], 16);
		uint64_t idx = r.cookie & 0xffffffffu;
		if (idx >= c->entries || !p->pending[idx].w || p->pending[idx].cookie != r.cookie) {
			unlock(p);
			__scone_abortf("scone: queue pair %u: a response carries cookie 0x%lx, which this enclave has not issued or already answered; aborting the enclave",
				       q, (unsigned long)r.cookie);
		}
		done[n].w = p->pending[idx].w;
		done[n].ret = r.ret;
		p->pending[idx].w = 0;
		p->head++;
	}
	if (n)
		store_release(&p->qp->rsp_head, p->head);
	unlock(p);
	for (int i = 0; i < n; i++)
		__scone_wake(done[i].w, done[i].ret);
	atomic_fetch_add_explicit(&c->harvested, (unsigned)n, memory_order_relaxed);
	return n;
}

__attribute__((weak)) int __scone_poll(void)
{
	struct scone_client *c = &__scone_client;
	int n = 0;
	__scone_signals_poll();
	for (uint32_t q = 0; q < c->queues; q++)
		n += harvest(&c->pairs[q], q);
	return n;
}

__attribute__((weak)) void __scone_wake(struct scone_waiter *w, long result)
{
	w->result = result;
	atomic_store_explicit(&w->done, 1, memory_order_release);
}

static void enclave_state(uint32_t v)
{
	struct scone_client *c = &__scone_client;
	for (uint32_t q = 0; q < c->queues; q++)
		__atomic_store_n(&c->pairs[q].qp->enclave_state.value, v, __ATOMIC_SEQ_CST);
}

/* Until M:N: the ethread polls, spins SCONE_ESPINS times, then sleeps outside. */
__attribute__((weak)) void __scone_wait(struct scone_waiter *w)
{
	struct scone_client *c = &__scone_client;
	for (;;) {
		for (uint32_t i = 0; i <= c->espins; i++) {
			if (atomic_load_explicit(&w->done, memory_order_acquire))
				return;
			__scone_poll();
			if (atomic_load_explicit(&w->done, memory_order_acquire))
				return;
			__asm__ __volatile__("pause");
		}
		enclave_state(SCONE_ENCLAVE_SLEEPING);
		/* After SLEEPING is visible, a response either is seen here or wakes us. */
		uint32_t seq = __atomic_load_n(&c->area->enclave_wake.value, __ATOMIC_SEQ_CST);
		if (!__scone_poll() && !atomic_load_explicit(&w->done, memory_order_acquire))
			__scone_ocall(SYS_futex, (long)&c->area->enclave_wake.value, FUTEX_WAIT_PRIVATE,
				      seq, 0, 0, 0);
		enclave_state(SCONE_ENCLAVE_RUNNING);
	}
}
