/*
 * Thread creation and exit as musl's __clone and pthread_exit expect them
 * from the kernel (hook.h "clone"; libc_patch/src/thread/x86_64/clone.s),
 * served without leaving the enclave.
 */
#include "internal.h"


#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_DETACHED 0x400000
#define CLONE_CHILD_SETTID 0x1000000
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000

#define THREAD_NEEDS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define THREAD_MAY (THREAD_NEEDS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
		    CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID)

/* What __scone_clone_boot finds on the child's stack (ctx.S offsets). */
struct boot {
	void *resume;
	struct scone_clone_regs r;
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
};
_Static_assert(__builtin_offsetof(struct boot, r) == 8, "ctx.S");
_Static_assert(__builtin_offsetof(struct boot, mxcsr) == 8 + 96, "ctx.S");
_Static_assert(__builtin_offsetof(struct boot, fcw) == 8 + 100, "ctx.S");

/* Only thread clones are served; anything else (fork-like, vfork, new
 * namespaces) is the unsupported class: -ENOSYS, the dispatcher logs it. */
long __scone_sched_clone(const struct scone_clone_regs *r)
{
	uint64_t flags = r->rdi;
	if ((flags & THREAD_NEEDS) != THREAD_NEEDS || (flags & ~(uint64_t)THREAD_MAY))
		return -ENOSYS;
	if (!r->rsi || r->rsi < 256)
		return -EINVAL;
	struct lthread *parent = this_lthread();
	struct lthread *l = __scone_lthread_new();
	if (!l)
		return -ENOMEM;
	long tid = atomic_fetch_add(&__scone_sched.next_tid, 1);
	l->tid = tid;
	l->fs = flags & CLONE_SETTLS ? r->r8 : parent->fs;
	if (flags & CLONE_CHILD_CLEARTID)
		l->clear_tid = (int *)r->r10;
	if (flags & CLONE_PARENT_SETTID)
		*(int *)r->rdx = (int)tid;
	if (flags & CLONE_CHILD_SETTID)
		*(int *)r->r10 = (int)tid;

	/* Below the words clone.s put at the top of the child stack. */
	struct boot *b = (struct boot *)(((r->rsi - sizeof *b) & -16ul) - 16);
	b->resume = (void *)__scone_clone_boot;
	b->r = *r;
	__asm__ __volatile__("stmxcsr %0; fnstcw %1" : "=m"(b->mxcsr), "=m"(b->fcw));
	l->sp = b;
	l->stack_top = r->rsi;
	l->tsan_fiber = TSAN_CREATE();
	__scone_lthread_join_all(l, parent);
	__scone_hwm_lthreads((unsigned)atomic_fetch_add(&__scone_sched.live, 1) + 1);
	__scone_sched_runnable(l);
	return tid;
}

/* The kernel's robust_list_head (linux/futex.h); bit 0 of an entry marks
 * a PI futex. */
struct robust_list_head {
	void *next;
	long futex_offset;
	void *pending;
};
#define ROBUST_LIST_LIMIT 2048

long __scone_sched_set_robust_list(void *head, unsigned long len)
{
	if (len != sizeof(struct robust_list_head))
		return -EINVAL;
	this_lthread()->robust_head = head;
	return 0;
}

long __scone_sched_get_robust_list(long tid, void **head, unsigned long *len)
{
	struct lthread *l = this_lthread();
	void *h = l->robust_head;
	if (tid && tid != l->tid) {
		long r = __scone_lthread_robust_of(tid, &h);
		if (r)
			return r;
	}
	*head = h;
	*len = sizeof(struct robust_list_head);
	return 0;
}

/* handle_futex_death() of kernel/futex/core.c: a futex still owned by the
 * dead thread gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and one waiter
 * is woken, to find EOWNERDEAD. PI waiters here are plain futex waiters
 * (futex.c), so the wake serves both kinds. */
static void futex_death(uint32_t *a, long tid)
{
	if ((uintptr_t)a & 3)
		return;
	uint32_t v = __atomic_load_n(a, __ATOMIC_SEQ_CST);
	do {
		if ((v & FUTEX_TID_MASK) != (uint32_t)tid)
			return;
	} while (!__atomic_compare_exchange_n(a, &v, (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED, 0,
					      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	if (v & FUTEX_WAITERS)
		__scone_futex_wake(a, 1, ~0u);
}

/* exit_robust_list(): musl's pthread_exit empties the list itself, so
 * this acts only for a thread that leaves without it. */
static void walk_robust_list(struct lthread *l)
{
	struct robust_list_head *h = l->robust_head;
	if (!h)
		return;
	l->robust_head = 0;
	void *pending = h->pending, *e = h->next;
	for (int n = 0; e && e != (void *)h && n < ROBUST_LIST_LIMIT; n++) {
		void *next = *(void **)((uintptr_t)e & ~(uintptr_t)1);
		if (e != pending)
			futex_death((uint32_t *)(((uintptr_t)e & ~(uintptr_t)1) + h->futex_offset), l->tid);
		e = next;
	}
	if (pending)
		futex_death((uint32_t *)(((uintptr_t)pending & ~(uintptr_t)1) + h->futex_offset), l->tid);
}

_Noreturn void __scone_sched_exit(int status)
{
	struct lthread *l = this_lthread();
	walk_robust_list(l);
	if (l->stack_top)
		__scone_hwm_thread_end(l->fs, l->stack_top);   /* its stack is still there */
	l->exit_status = status;
	__scone_sched_switch(l, POST_EXIT);
	__builtin_unreachable();
}

_Noreturn void __scone_sched_unmapself(uintptr_t base, size_t size)
{
	struct lthread *l = this_lthread();
	l->unmap_base = base;
	l->unmap_size = size;
	__scone_sched_exit(0);
}

long __scone_sched_set_tid_address(int *ctid)
{
	struct lthread *l = this_lthread();
	l->clear_tid = ctid;
	return l->tid;
}

long __scone_sched_gettid(void)
{
	return this_lthread()->tid;
}

void __scone_sched_set_fs(uint64_t fs)
{
	struct scone_ethread *e = this_ethread();
	e->cur->fs = fs;
	__scone_sched_set_cur_fs(e, fs);
}
