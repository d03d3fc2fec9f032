/*
 * Ethreads, run queues and the park protocol. Each ethread has a FIFO run
 * queue; an lthread made runnable goes to the queue of the ethread that
 * made it so (it is that ethread's cache that holds its data), and an
 * ethread with nothing to run steals from the others before it spins
 * (polling for responses) and finally sleeps outside.
 *
 * A switch records what to do with the lthread left behind (park it,
 * requeue it, reap it) in the ethread, and whoever is resumed next does it
 * once the old context is saved: an lthread is never runnable elsewhere
 * while its registers still live on this ethread.
 */
#include "wait.h"
#include "internal.h"

struct sched __scone_sched;
#define S __scone_sched

#define SCHED_STACK (64u << 10)
#define WAKE_MARK ((void *)1)

static void set_fs(struct scone_ethread *e, uint64_t fs)
{
	if (!fs || fs == e->cur_fs)
		return;
	e->cur_fs = fs;
	if (S.wrfsbase)
		__asm__ __volatile__("wrfsbase %0" : : "r"(fs) : "memory");
	else
		S.ops->set_fs(fs);
	/* The entry code restores this one after every OCALL. */
	__asm__ __volatile__("mov %0, %%gs:%c1" : : "r"(fs), "i"(SCONE_SCHED_GS_FSBASE) : "memory");
}

void __scone_sched_set_cur_fs(struct scone_ethread *e, uint64_t fs)
{
	e->cur_fs = 0;
	set_fs(e, fs);
}

static void rq_push(struct scone_ethread *e, struct lthread *l)
{
	l->next = 0;
	spin_lock(&e->qlock);
	if (e->tail)
		e->tail->next = l;
	else
		e->head = l;
	e->tail = l;
	atomic_fetch_add(&e->qlen, 1);
	spin_unlock(&e->qlock);
}

static struct lthread *rq_take(struct scone_ethread *e)
{
	struct lthread *l = e->head;
	if (l) {
		e->head = l->next;
		if (!e->head)
			e->tail = 0;
		atomic_fetch_sub(&e->qlen, 1);
	}
	return l;
}

static struct lthread *rq_pop(struct scone_ethread *e)
{
	if (!atomic_load_explicit(&e->qlen, memory_order_relaxed))
		return 0;
	spin_lock(&e->qlock);
	struct lthread *l = rq_take(e);
	spin_unlock(&e->qlock);
	return l;
}

static struct lthread *rq_steal(struct scone_ethread *e)
{
	for (unsigned i = 1; i < S.n; i++) {
		struct scone_ethread *v = &S.e[(e->index + i) % S.n];
		if (!atomic_load_explicit(&v->qlen, memory_order_relaxed) || !spin_trylock(&v->qlock))
			continue;
		struct lthread *l = rq_take(v);
		spin_unlock(&v->qlock);
		if (l) {
			e->st.steals++;
			return l;
		}
	}
	return 0;
}

/* Wake one sleeping ethread, so that it can steal what this one cannot run
 * now. Costs an exit on the sleeper's side only when there is one. */
static void kick_one(struct scone_ethread *self)
{
	for (unsigned i = 1; i < S.n; i++) {
		struct scone_ethread *v = &S.e[(self->index + i) % S.n];
		if (atomic_load(&v->sleeping) && atomic_exchange(&v->sleeping, 0)) {
			self->st.kicks++;
			S.ops->kick(v->index);
			return;
		}
	}
}

void __scone_sched_kick_sleeper(void)
{
	if (atomic_load(&S.sleepers))
		kick_one(this_ethread());
}

void __scone_sched_runnable(struct lthread *l)
{
	struct scone_ethread *e = this_ethread();
	rq_push(e, l);
	if (atomic_load(&S.sleepers) && (e->cur || atomic_load(&e->qlen) > 1))
		kick_one(e);
}

void __scone_sched_unpark(struct lthread *l)
{
	int s = atomic_load(&l->wstate);
	for (;;) {
		if (s == LT_PARKED) {
			if (atomic_compare_exchange_weak(&l->wstate, &s, LT_RUNNING)) {
				__scone_sched_runnable(l);
				return;
			}
		} else if (s == LT_RUNNING) {
			if (atomic_compare_exchange_weak(&l->wstate, &s, LT_NOTIFIED))
				return;
		} else {
			return;
		}
	}
}

static void reap(struct lthread *l)
{
	__scone_lthread_leave_all(l);
	if (l->unmap_base)
		S.ops->unmap(l->unmap_base, l->unmap_size);
	int *ct = l->clear_tid;
	int status = l->exit_status;
	TSAN_DESTROY(l->tsan_fiber);
	__scone_lthread_free(l);
	/* After the stack is gone, as the kernel does: joiners may free it. */
	if (ct) {
		__atomic_store_n(ct, 0, __ATOMIC_SEQ_CST);
		__scone_futex_wake((uint32_t *)ct, 1, ~0u);
	}
	if (atomic_fetch_sub(&S.live, 1) == 1)
		S.ops->exit_all(status);
}

void __scone_sched_after_switch(void)
{
	struct scone_ethread *e = this_ethread();
	struct lthread *l = e->post_l;
	int post = e->post;
	e->post = POST_NONE;
	switch (post) {
	case POST_PARK: {
		int s = LT_RUNNING;
		if (!atomic_compare_exchange_strong(&l->wstate, &s, LT_PARKED)) {
			atomic_store(&l->wstate, LT_RUNNING);     /* the unpark came first */
			rq_push(e, l);
		}
		break;
	}
	case POST_YIELD:
		rq_push(e, l);
		break;
	case POST_EXIT:
		reap(l);
		break;
	}
}

static struct lthread *pick(struct scone_ethread *e)
{
	if ((++e->tick & 15) == 0) {
		e->st.polls++;
		__scone_poll();
		__scone_timer_run();
	}
	struct lthread *l = rq_pop(e);
	return l ? l : rq_steal(e);
}

/* High-water marks (runtime/trusted/hwm.c); no-ops where the scheduler runs
 * without the enclave runtime (its host tests). */
__attribute__((weak)) void __scone_hwm_sp(uintptr_t top, uintptr_t sp)
{
	(void)top, (void)sp;
}

__attribute__((weak)) void __scone_hwm_lthreads(unsigned live)
{
	(void)live;
}

__attribute__((weak)) void __scone_hwm_thread_end(uint64_t fs, uintptr_t top)
{
	(void)fs, (void)top;
}

void __scone_sched_switch(struct lthread *cur, int post)
{
	struct scone_ethread *e = this_ethread();
	/* The stack pointer at each switch: one compare on the way out. */
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (sp < cur->min_sp || !cur->min_sp) {
		cur->min_sp = sp;
		__scone_hwm_sp(cur->stack_top, sp);
	}
	e->post = post;
	e->post_l = cur;
	struct lthread *next = pick(e);
	e->st.switches++;
	if (next) {
		e->cur = next;
		set_fs(e, next->fs);
		TSAN_SWITCH(next->tsan_fiber);
		__scone_ctx_swap_x(&cur->sp, next->sp);
	} else {
		e->cur = 0;
		TSAN_SWITCH(e->tsan_fiber);
		__scone_ctx_swap_x(&cur->sp, e->sched_sp);
	}
	__scone_sched_after_switch();
}

void __scone_sched_park(struct lthread *l)
{
	__scone_sched_switch(l, POST_PARK);
}

/* Find an lthread to run: poll, fire timers, take or steal; spin espins
 * times, then sleep outside until kicked or the next timer is due. */
static struct lthread *find_work(struct scone_ethread *e)
{
	unsigned spins = 0;
	struct lthread *l;
	for (;;) {
		e->st.polls++;
		__scone_poll();
		/* The clock may cost an exit in the enclave: not every spin. */
		if ((spins & 63) == 0)
			__scone_timer_run();
		if ((l = rq_pop(e)) || (l = rq_steal(e)))
			return l;
		if (spins++ < S.espins) {
			__asm__ __volatile__("pause" ::: "memory");
			continue;
		}
		/* Dekker with __scone_sched_runnable: it pushes, then reads
		 * sleepers; this side announces itself, then looks again. */
		atomic_store(&e->sleeping, 1);
		atomic_fetch_add(&S.sleepers, 1);
		__scone_poll();
		__scone_timer_run();
		l = rq_pop(e);
		if (!l)
			l = rq_steal(e);
		if (!l) {
			e->st.idle_sleeps++;
			S.ops->idle(e->index, __scone_timer_next());
		}
		atomic_store(&e->sleeping, 0);
		atomic_fetch_sub(&S.sleepers, 1);
		if (l)
			return l;
		spins = 0;
	}
}

static _Noreturn void sched_loop(void)
{
	for (;;) {
		__scone_sched_after_switch();
		struct scone_ethread *e = this_ethread();
		struct lthread *l = find_work(e);
		e->cur = l;
		e->st.switches++;
		set_fs(e, l->fs);
		TSAN_SWITCH(l->tsan_fiber);
		__scone_ctx_swap(&e->sched_sp, l->sp);
	}
}

/* lthreads come in slabs: the enclave's mmap hands out whole pages. */
#define SLAB 32

struct lthread *__scone_lthread_new(void)
{
	spin_lock(&S.free_lock);
	struct lthread *l = S.free;
	if (l)
		S.free = l->next;
	spin_unlock(&S.free_lock);
	if (l) {
		char *p = (char *)l;
		for (size_t i = 0; i < sizeof *l; i++)
			p[i] = 0;
		return l;
	}
#ifdef SCONE_SCHED_NO_CACHE
	return S.ops->alloc(sizeof *l);
#else
	l = S.ops->alloc(SLAB * sizeof *l);
	if (l)
		for (int i = 1; i < SLAB; i++)
			__scone_lthread_free(&l[i]);
	return l;
#endif
}

void __scone_lthread_free(struct lthread *l)
{
#ifdef SCONE_SCHED_NO_CACHE
	/* Sanitizer builds: every lthread's memory goes back, so that a late
	 * access shows. */
	S.ops->release(l, sizeof *l);
	return;
#endif
	spin_lock(&S.free_lock);
	l->next = S.free;
	S.free = l;
	spin_unlock(&S.free_lock);
}

int __scone_sched_init(const struct scone_sched_ops *ops, const struct scone_sched_config *cfg)
{
	if (!cfg->ethreads || cfg->ethreads > SCONE_SCHED_MAX_ETHREADS || cfg->main_tid <= 0)
		return -EINVAL;
	int wrfs = (cfg->hwcap2 & 2) != 0;
	if (!wrfs && !ops->set_fs)
		return -ENOSYS;
	S.ops = ops;
	S.n = cfg->ethreads;
	S.espins = cfg->espins;
	S.wrfsbase = wrfs;
	__scone_ctx_xsavec = cfg->xsavec != 0;
	__scone_ctx_fast = cfg->xinuse != 0;
	uint32_t xcr0, hi;
	__asm__ __volatile__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
	__scone_ctx_xmask = xcr0 & ~(0x60000u | 3u);
	atomic_store(&S.next_tid, cfg->main_tid + 1);
	for (unsigned i = 0; i < S.n; i++)
		S.e[i].index = i;

	struct lthread *main = __scone_lthread_new();
	char *stack = ops->alloc(SCHED_STACK);
	if (!main || !stack)
		return -ENOMEM;
	main->tid = cfg->main_tid;
	main->fs = cfg->main_fs;
	main->tsan_fiber = TSAN_CURRENT();
	__scone_lthread_join_all(main, 0);
	S.main_l = main;
	atomic_store(&S.live, 1);

	/* The loop's first resumption is a `ret` into it, as if called. */
	void **top = (void **)(stack + SCHED_STACK - 16);
	*top = (void *)sched_loop;
	struct scone_ethread *e = &S.e[0];
	e->sched_sp = top;
	e->tsan_fiber = TSAN_CREATE();
	e->cur = main;
	e->cur_fs = cfg->main_fs;
	__asm__ __volatile__("mov %0, %%gs:%c1" : : "r"(e), "i"(SCONE_SCHED_GS_ETHREAD) : "memory");
	atomic_store(&S.active, 1);
	return 0;
}

_Noreturn void __scone_sched_ethread_main(unsigned index)
{
	struct scone_ethread *e = &S.e[index];
	e->tsan_fiber = TSAN_CURRENT();
	__asm__ __volatile__("mov %0, %%gs:%c1" : : "r"(e), "i"(SCONE_SCHED_GS_ETHREAD) : "memory");
	sched_loop();
}

int __scone_sched_active(void)
{
	return atomic_load(&S.active);
}

void __scone_sched_stats(unsigned ethread, struct scone_sched_stats *out)
{
	*out = S.e[ethread].st;
}

int __scone_sched_others_ready(void)
{
	return atomic_load(&S.active) && atomic_load_explicit(&this_ethread()->qlen, memory_order_relaxed) != 0;
}

int __scone_sched_quiet(void)
{
	if (!atomic_load(&S.active))
		return 1;
	if (__scone_timer_pending())
		return 0;
	for (unsigned i = 0; i < S.n; i++)
		if (atomic_load_explicit(&S.e[i].qlen, memory_order_relaxed))
			return 0;
	return 1;
}

long __scone_sched_yield(void)
{
	struct lthread *l = this_lthread();
	struct scone_ethread *e = this_ethread();
	if (!atomic_load_explicit(&e->qlen, memory_order_relaxed)) {
		/* Nothing else here: let responses and timers in, then go on. */
		e->st.polls++;
		__scone_poll();
		__scone_timer_run();
		if (!atomic_load_explicit(&e->qlen, memory_order_relaxed))
			return 0;
	}
	__scone_sched_switch(l, POST_YIELD);
	return 0;
}

/* wait.h: the waiter registers as owner, unless __scone_wake has marked
 * the waiter done already; __scone_wake's last access to w is the exchange
 * of owner, so the waiter never returns while w is still in use. */
void __scone_wait(struct scone_waiter *w)
{
	struct lthread *l = S.active ? this_lthread() : 0;
	if (!l) {
		/* The scheduler loop itself, or before init: poll in place. */
		while (__atomic_load_n(&w->owner, __ATOMIC_ACQUIRE) != WAKE_MARK) {
			__scone_poll();
			__asm__ __volatile__("pause" ::: "memory");
		}
		return;
	}
	void *none = 0;
	if (__atomic_compare_exchange_n(&w->owner, &none, l, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		__scone_sched_park(l);
}

void __scone_wake(struct scone_waiter *w, long result)
{
	w->result = result;
	atomic_store(&w->done, 1);
	void *o = __atomic_exchange_n(&w->owner, WAKE_MARK, __ATOMIC_SEQ_CST);
	if (o)
		__scone_sched_unpark(o);
}
