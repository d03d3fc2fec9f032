/*
 * The syscall client (client.h): START's copy and check of the syscall
 * area, and the path of one external call, sync or async.
 */
#include "../sched/scone_sched.h"
#include "client.h"
#include "marshal.h"

#define ENOSYS 38
#define EINTR 4

struct scone_client __scone_client;

static int host_ok(uint64_t p, uint64_t n)
{
	return p % 64 == 0 && __scone_host_range(p, n);
}

void __scone_client_init(uint64_t host_area, int sim)
{
	struct scone_client *c = &__scone_client;
	if (!host_area) {
		/* A bare entry (tests driving the protocol by hand): pointers pass
		 * as they are, which only SIM can serve. */
		if (!sim)
			__scone_abort("scone: the starter gave no syscall area (queues and arena); use the starter of the same sysroot");
		return;
	}
	struct scone_syscall_area a;
	if (!host_ok(host_area, sizeof a))
		__scone_abort("scone: the syscall area is not host memory");
	__scone_memcpy(&a, (const void *)host_area, sizeof a);
	uint32_t ntcs = __scone_rt.cfg->tcs_count;
	int async = !!(a.flags & SCONE_SYSCALL_ASYNC);
	/* Every host number is bounded before it enters a product, and the
	 * products are checked anyway: a range that wraps is no range. */
	uint64_t arena_bytes, pair_bytes = 0, pairs_bytes;
	if (a.magic != SCONE_SYSCALL_AREA_MAGIC || a.version != SCONE_QUEUE_VERSION ||
	    (a.flags & ~(SCONE_SYSCALL_ASYNC | SCONE_SYSCALL_KMOD | SCONE_SYSCALL_ADAPTIVE)) ||
	    a.arena_unit < SCONE_ARENA_UNIT_MIN || a.arena_unit > SCONE_ARENA_UNIT_MAX ||
	    a.arena_unit % SCONE_PAGE_SIZE ||
	    a.arena_units <= ntcs || a.arena_units > SCONE_ARENA_UNITS_MAX ||
	    __builtin_mul_overflow(a.arena_unit, (uint64_t)a.arena_units, &arena_bytes) ||
	    !host_ok(a.arena, arena_bytes))
		__scone_abort("scone: the syscall area's header or arena is malformed");
	if (async && (a.queues < 1 || a.queues > SCONE_QUEUES_MAX || a.entries < 2 ||
		      a.entries > SCONE_SLOTS_MAX || (a.entries & (a.entries - 1)) ||
		      (pair_bytes = scone_queue_pair_bytes(a.entries),
		       __builtin_mul_overflow(pair_bytes, (uint64_t)a.queues, &pairs_bytes)) ||
		      !host_ok(a.pairs, pairs_bytes)))
		__scone_abort("scone: the syscall area's queue pairs are malformed");
	c->area = (struct scone_syscall_area *)host_area;
	c->async = async;
	c->kmod = !!(a.flags & SCONE_SYSCALL_KMOD);
	c->adaptive = async && (a.flags & SCONE_SYSCALL_ADAPTIVE);
	c->arena = (char *)a.arena;
	c->unit_bytes = a.arena_unit;
	c->units = a.arena_units;
	c->async_units = a.arena_units - ntcs;
	c->espins = a.espins;
	__scone_rt.pid = a.pid;
	__scone_rt.tid = a.tid;
	if (async) {
		c->queues = a.queues;
		c->entries = a.entries;
		size_t bits = (c->async_units + 63) / 64;
		long mem = __scone_sys_mmap(0, a.queues * sizeof(struct scone_pair) +
					    (size_t)a.queues * a.entries * sizeof(struct scone_pending) +
					    bits * 8, 3, 0x22, -1, 0);
		if (mem < 0)
			__scone_abort("scone: no heap left for the syscall queues; sign with a larger --heap");
		c->pairs = (struct scone_pair *)mem;
		struct scone_pending *pend = (struct scone_pending *)(c->pairs + a.queues);
		for (uint32_t q = 0; q < a.queues; q++) {
			struct scone_pair *p = &c->pairs[q];
			p->qp = (struct scone_queue_pair *)(a.pairs + q * pair_bytes);
			p->req = (struct scone_request *)((char *)p->qp + SCONE_QUEUE_REQ_OFFSET);
			p->rsp = (struct scone_response *)(p->req + a.entries);
			p->pending = pend + (size_t)q * a.entries;
			atomic_flag_clear(&p->lock);
			/* Free-running indices start where the host says; we keep our own copies. */
			p->tail = p->head = 0;
		}
		c->unit_free = (atomic_ulong *)(pend + (size_t)a.queues * a.entries);
		for (uint32_t u = 0; u < c->async_units; u++)
			atomic_fetch_or(&c->unit_free[u / 64], 1ul << (u % 64));
		uint64_t r;
		__asm__ __volatile__("rdrand %0" : "=r"(r));
		c->cookie_gen = r << 32;
	}
	c->ready = 1;
}

/* Bytes the marshaller laid out when it cut the call to the arena unit, else 0. */
static uint64_t laid_out(const struct scone_marshal *m)
{
	if (!m->clamped)
		return 0;
	return m->d->ret == SCONE_RET_IOVSIZE ? m->total[m->d->ret_arg] : (uint64_t)m->host[m->d->ret_arg];
}

/* By an exit, through this TCS's own unit: no other call can use it meanwhile. */
static long call_exit(long nr, const struct scone_sys_desc *d, const long a[6], uint64_t *laid)
{
	struct scone_client *c = &__scone_client;
	struct scone_marshal m;
	long r = __scone_marshal_out(&m, nr, d, a, __scone_unit_sync(), c->unit_bytes);
	if (r)
		return r;
	long *h = m.host;
	*laid = laid_out(&m);
	atomic_fetch_add_explicit(&c->by_exit, 1, memory_order_relaxed);
	return __scone_marshal_back(&m, __scone_ocall(nr, h[0], h[1], h[2], h[3], h[4], h[5]));
}

long __scone_call_once(long nr, const struct scone_sys_desc *d, const long a[6], uint64_t *laid)
{
	struct scone_client *c = &__scone_client;
	*laid = 0;
	if (!c->ready)
		return __scone_ocall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (!c->async)
		return call_exit(nr, d, a, laid);
	int how = SCONE_ADAPT_QUEUE;
	uint64_t t0 = 0;
	if (c->adaptive) {
		how = __scone_adapt_choose(nr, a);
		t0 = how == SCONE_ADAPT_QUEUE ? 0 : __scone_adapt_now();
		if (how == SCONE_ADAPT_EXIT || how == SCONE_ADAPT_EXIT_BLOCKING) {
			long r = call_exit(nr, d, a, laid);
			__scone_adapt_note(how, t0);
			return r;
		}
	}
	struct scone_marshal m;
	for (;;) {
		uint32_t intr = __scone_sched_sigintr();
		char *unit = __scone_unit_get();
		long r = __scone_marshal_out(&m, nr, d, a, unit, c->unit_bytes);
		if (!r) {
			struct scone_waiter w = { .done = 0 };
			__scone_post(nr, m.host, &w);
			atomic_fetch_add_explicit(&c->by_queue, 1, memory_order_relaxed);
			/* A signal interrupted this lthread after the call began but
			 * may have missed the cookie (sigtarget.c): cancel it here. */
			if (__scone_sched_sigintr() != intr)
				__scone_cancel_own();
			__scone_wait(&w);
			__scone_sched_ext_set(0, 0);
			r = w.result;
			if (r == -SCONE_ERESTARTSYS) {
				/* Cancelled for a signal: restarted only under SA_RESTART
				 * (the host said signal(7) allows it); the handler has run. */
				if (__scone_sched_sig_restart()) {
					__scone_unit_put(unit);
					continue;
				}
				r = -EINTR;
			}
			*laid = laid_out(&m);
			r = __scone_marshal_back(&m, r);
		}
		__scone_unit_put(unit);
		__scone_adapt_note(how, t0);
		return r;
	}
}

long __scone_external_desc(long nr, const struct scone_sys_desc *d, const long a[6])
{
	uint64_t laid;
	long r = __scone_call_once(nr, d, a, &laid);
	/* A transfer cut to the arena and done in full: finish it where Linux
	 * would not have stopped (chunk.c). Small calls never get here. */
	if (laid && (uint64_t)r == laid)
		return __scone_chunk_rest(nr, a, r);
	return r;
}

long __scone_external(long nr, const long a[6])
{
	if (scone_sys_class_of(nr) != SCONE_SYS_CLASS_EXTERNAL)
		return -ENOSYS;
	return __scone_external_desc(nr, &scone_sys_desc[nr], a);
}
