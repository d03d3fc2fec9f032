/*
 * The scheduler's private structures. No libc, no TLS, no errno: this code
 * runs on ethreads between lthreads, where FS belongs to whichever lthread
 * ran last.
 */
#ifndef SCONE_SCHED_INTERNAL_H
#define SCONE_SCHED_INTERNAL_H

#include <stdatomic.h>

#include "scone_sched.h"
#include "spin.h"

#define HIDDEN __attribute__((visibility("hidden")))

#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38
#define ETIMEDOUT 110

/* futex(2) owner word of PI and robust futexes */
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu

/* Park protocol (one park is ended by exactly one unpark):
 * RUNNING -> PARKED by the scheduler once the context is saved;
 * RUNNING -> NOTIFIED by an unpark that comes first, so the park ends at once. */
enum { LT_RUNNING, LT_PARKED, LT_NOTIFIED };

struct bucket;

struct lthread {
	void *sp;                          /* saved context (ctx.S) */
	uint64_t fs;
	long tid;
	atomic_int wstate;
	struct lthread *next;              /* run queue, free list */
	int *clear_tid;
	uintptr_t unmap_base;
	size_t unmap_size;
	int exit_status;
	/* futex wait: owned by the lock of the bucket it is queued in */
	uint32_t *fw_addr;
	uint32_t fw_bitset;
	int fw_queued;
	struct bucket *_Atomic fw_bucket;
	struct lthread *fw_prev, *fw_next, *fw_wake;
	/* timed park: owned by the timer lock */
	uint64_t deadline;
	struct lthread *t_next;
	int t_on;
	int timed_out;
	int fw_eintr;                      /* the wait was ended by a signal */
	void *tsan_fiber;                  /* SCONE_SCHED_TSAN builds only */
	/* signals (sigtarget.c): the mask and the restart flag are written by
	 * the lthread itself and by the interrupter; the others are atomic */
	uint64_t sigmask;                  /* blocked signals */
	uint64_t sigpending;               /* directed at this lthread, not yet delivered */
	uint32_t sigintr;                  /* interruptions so far */
	int sig_restart;                   /* the last interrupting handler had SA_RESTART */
	uint64_t ext_cookie;               /* the external call it waits for outside, 0: none */
	uint32_t ext_pair;
	void *robust_head;                 /* set_robust_list(2), walked at exit */
	/* sigaltstack(2) of this thread (written by the thread itself or by
	 * a handler lthread running for it, see sig_for) */
	uintptr_t ss_sp;
	size_t ss_size;                    /* 0: disabled */
	int ss_busy;                       /* a handler lthread runs on it */
	long sig_for;                      /* a handler lthread: its receiver's tid */
	/* every live lthread, under sched.all_lock */
	struct lthread *all_prev, *all_next;
	/* stack high-water mark (hwm.c): the top a clone gave, 0 for main */
	uintptr_t stack_top, min_sp;
} __attribute__((aligned(64)));

void __scone_hwm_sp(uintptr_t top, uintptr_t sp) __attribute__((visibility("hidden")));
void __scone_hwm_lthreads(unsigned live) __attribute__((visibility("hidden")));
void __scone_hwm_thread_end(uint64_t fs, uintptr_t top) __attribute__((visibility("hidden")));

enum { POST_NONE, POST_PARK, POST_YIELD, POST_EXIT };

struct scone_ethread {
	unsigned index;
	struct spin qlock;
	struct lthread *head, *tail;
	atomic_uint qlen;
	void *sched_sp;                    /* the scheduler loop's saved context */
	struct lthread *cur;               /* NULL while the scheduler loop runs */
	int post;
	struct lthread *post_l;
	uint64_t cur_fs;
	atomic_int sleeping;
	unsigned tick;
	void *tsan_fiber;                  /* the scheduler loop's, SCONE_SCHED_TSAN */
	struct scone_sched_stats st;
} __attribute__((aligned(64)));

struct sched {
	const struct scone_sched_ops *ops;
	unsigned n, espins;
	int wrfsbase;
	atomic_int active;
	atomic_int sleepers;
	atomic_long live;                  /* lthreads not yet exited */
	atomic_long next_tid;
	struct spin free_lock;
	struct lthread *free;
	struct spin all_lock;
	struct lthread *all;               /* every live lthread */
	struct lthread *main_l;            /* the adopted main lthread, until it exits */
	struct scone_ethread e[SCONE_SCHED_MAX_ETHREADS];
};
extern struct sched __scone_sched HIDDEN;

static inline struct scone_ethread *this_ethread(void)
{
	struct scone_ethread *e;
	__asm__ __volatile__("mov %%gs:%c1, %0" : "=r"(e) : "i"(SCONE_SCHED_GS_ETHREAD));
	return e;
}

static inline struct lthread *this_lthread(void)
{
	return this_ethread()->cur;
}

/* ctx.S: save the running context (plain: callee-saved registers, MXCSR and
 * x87 CW; _x: the whole XSAVE state too, since an lthread parks inside the
 * syscall hook whose callers keep vector registers live) into *save, then
 * resume load. */
void __scone_ctx_swap(void **save, void *load) HIDDEN;
void __scone_ctx_swap_x(void **save, void *load) HIDDEN;
void __scone_clone_boot(void) HIDDEN;
extern char __scone_ctx_xsavec HIDDEN;
extern char __scone_ctx_fast HIDDEN;
extern uint32_t __scone_ctx_xmask HIDDEN;

/* ThreadSanitizer builds (tests): each context is a fiber, announced
 * before every switch, so that it follows stacks that change under it. */
#ifdef SCONE_SCHED_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#define TSAN_CURRENT() __tsan_get_current_fiber()
#define TSAN_CREATE() __tsan_create_fiber(0)
#define TSAN_DESTROY(f) __tsan_destroy_fiber(f)
#define TSAN_SWITCH(f) __tsan_switch_to_fiber((f), 0)
#else
#define TSAN_CURRENT() ((void *)0)
#define TSAN_CREATE() ((void *)0)
#define TSAN_DESTROY(f) ((void)(f))
#define TSAN_SWITCH(f) ((void)(f))
#endif

/* core.c */
void __scone_sched_after_switch(void) HIDDEN;
void __scone_sched_switch(struct lthread *cur, int post) HIDDEN;
void __scone_sched_park(struct lthread *l) HIDDEN;
void __scone_sched_unpark(struct lthread *l) HIDDEN;
void __scone_sched_runnable(struct lthread *l) HIDDEN;
void __scone_sched_kick_sleeper(void) HIDDEN;
struct lthread *__scone_lthread_new(void) HIDDEN;
void __scone_lthread_free(struct lthread *l) HIDDEN;
void __scone_sched_set_cur_fs(struct scone_ethread *e, uint64_t fs) HIDDEN;

/* timer.c */
void __scone_timer_add(struct lthread *l, uint64_t deadline) HIDDEN;
void __scone_timer_cancel(struct lthread *l) HIDDEN;
void __scone_timer_run(void) HIDDEN;
uint64_t __scone_timer_next(void) HIDDEN;
int __scone_timer_pending(void) HIDDEN;
long __scone_deadline(long clock, int absolute, const void *ts, uint64_t *out) HIDDEN;

/* futex.c */
long __scone_futex_wake(uint32_t *uaddr, long n, uint32_t bitset) HIDDEN;
int __scone_futex_unqueue(struct lthread *l) HIDDEN;
/* 1 if lthread tid has not exited. */
int __scone_lthread_live(long tid) HIDDEN;
/* Thread tid's robust list head: 0, or -ESRCH. */
long __scone_lthread_robust_of(long tid, void **head) HIDDEN;
long __scone_futex_interrupt(long tid, int signal, int restart) HIDDEN;

/* sigtarget.c */
void __scone_lthread_join_all(struct lthread *l, struct lthread *parent) HIDDEN;
void __scone_lthread_leave_all(struct lthread *l) HIDDEN;

#endif
