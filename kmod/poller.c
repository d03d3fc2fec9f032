// SPDX-License-Identifier: GPL-2.0
/*
 * The adaptive poller: how a sleeping sthread learns, within microseconds,
 * that the enclave posted a request, although the enclave does nothing but
 * store req_tail (an enclave thread cannot make a system call to wake
 * anyone without leaving the enclave, which is what SCONE avoids).
 *
 * One hrtimer polls the pairs whose sthread sleeps here, and only while at
 * least one does; with none asleep it is not armed and costs nothing. Its
 * interval starts at poll_min_ns when an sthread goes to sleep or one was
 * just woken (requests come in bursts), and doubles on each empty poll up
 * to poll_max_ns, which bounds the first-request latency after an idle
 * period while keeping an idle server at a few thousand cheap timer
 * interrupts per second instead of a spinning core.
 *
 * The timer is pinned to the CPU of the sthread that armed it: sthreads
 * run outside the enclave, so the poll interrupts never land on a core
 * running an enclave thread (each would cost an asynchronous enclave
 * exit), and waking a sthread there is a local wake-up, with no IPI.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "scone.h"

static unsigned long poll_min_ns = 20000;
module_param(poll_min_ns, ulong, 0644);
MODULE_PARM_DESC(poll_min_ns, "poll interval right after activity, ns (>= 1000)");

static unsigned long poll_max_ns = 100000;
module_param(poll_max_ns, ulong, 0644);
MODULE_PARM_DESC(poll_max_ns, "poll interval when idle, ns (>= poll_min_ns)");

/* Below a microsecond the timer interrupts alone would occupy a core. */
#define SCONE_POLL_FLOOR_NS 1000ul

static struct {
	spinlock_t lock;		/* guards everything below */
	struct list_head sleepers;	/* scone_pair.sleep_node */
	struct hrtimer timer;
	bool armed;			/* timer queued or its callback will re-arm */
	u64 interval_ns;
} poller;

static u64 scone_poll_min(void)
{
	return max(READ_ONCE(poll_min_ns), SCONE_POLL_FLOOR_NS);
}

static u64 scone_poll_max(void)
{
	return max_t(u64, READ_ONCE(poll_max_ns), scone_poll_min());
}

static enum hrtimer_restart scone_poll(struct hrtimer *timer)
{
	struct scone_pair *pair;
	unsigned long irqf;
	bool woke = false;
	bool rearm;

	atomic64_inc(&scone_stats.polls);
	spin_lock_irqsave(&poller.lock, irqf);
	list_for_each_entry(pair, &poller.sleepers, sleep_node) {
		if (pair->kicked || !scone_pair_pending(pair))
			continue;
		scone_pair_observe(pair);
		pair->kicked = true;
		wake_up(&pair->wq);
		atomic64_inc(&scone_stats.wakeups);
		woke = true;
	}
	if (woke)
		poller.interval_ns = scone_poll_min();
	else
		poller.interval_ns = min(poller.interval_ns * 2, scone_poll_max());
	rearm = !list_empty(&poller.sleepers);
	poller.armed = rearm;
	if (rearm)
		hrtimer_forward_now(timer, ns_to_ktime(poller.interval_ns));
	spin_unlock_irqrestore(&poller.lock, irqf);
	return rearm ? HRTIMER_RESTART : HRTIMER_NORESTART;
}

static void scone_poller_add(struct scone_pair *pair)
{
	unsigned long irqf;

	spin_lock_irqsave(&poller.lock, irqf);
	scone_pair_observe(pair);
	pair->kicked = false;
	list_add_tail(&pair->sleep_node, &poller.sleepers);
	poller.interval_ns = scone_poll_min();
	if (!poller.armed) {
		/* Also right while a callback that chose not to re-arm runs. */
		poller.armed = true;
		hrtimer_start(&poller.timer, ns_to_ktime(poller.interval_ns),
			      HRTIMER_MODE_REL_PINNED);
	}
	spin_unlock_irqrestore(&poller.lock, irqf);
}

static void scone_poller_del(struct scone_pair *pair)
{
	unsigned long irqf;

	spin_lock_irqsave(&poller.lock, irqf);
	list_del_init(&pair->sleep_node);
	spin_unlock_irqrestore(&poller.lock, irqf);
}

static bool scone_pair_should_wake(struct scone_pair *pair)
{
	return test_bit(SCONE_PAIR_DEAD, &pair->flags) ||
	       scone_pair_pending(pair);
}

/**
 * scone_poller_wait() - sleep until the pair has a request
 * @pair: a registered pair, with a reference held by the caller
 * @timeout_ns: relative timeout; 0 for none
 *
 * Implements the sthread's sleep of queue_abi.h on the sthread's behalf:
 * sthread_state is SLEEPING from before the last look at the indices until
 * the sthread runs again, then RUNNING. The store of SLEEPING is ordered
 * before that look (full barrier) so that a producer that reads RUNNING
 * knows its request will be seen without a wake-up.
 *
 * Context: process context; sleeps interruptibly.
 * Return: 0 when req_tail != req_head, -EBUSY when another thread already
 * waits on this pair, -ETIMEDOUT when @timeout_ns passed, -EINTR when a
 * signal arrived, -EIDRM when the pair was unregistered meanwhile.
 */
int scone_poller_wait(struct scone_pair *pair, u64 timeout_ns)
{
	ktime_t timeout = timeout_ns ? ns_to_ktime(timeout_ns) : KTIME_MAX;
	long ret;

	if (test_and_set_bit_lock(SCONE_PAIR_WAITING, &pair->flags))
		return -EBUSY;
	atomic64_inc(&scone_stats.waits);
	scone_poller_add(pair);
	/* SLEEPING before the condition's load of the indices: see above. */
	smp_store_mb(pair->qp->sthread_state.value, SCONE_STHREAD_SLEEPING);

	ret = wait_event_interruptible_hrtimeout(pair->wq,
						 scone_pair_should_wake(pair),
						 timeout);

	scone_poller_del(pair);
	/* Our reads of the pair happen before a producer sees RUNNING. */
	smp_store_release(&pair->qp->sthread_state.value,
			  SCONE_STHREAD_RUNNING);
	clear_bit_unlock(SCONE_PAIR_WAITING, &pair->flags);

	if (ret == -ETIME) {
		atomic64_inc(&scone_stats.timeouts);
		return -ETIMEDOUT;
	}
	if (ret)
		return -EINTR;
	if (test_bit(SCONE_PAIR_DEAD, &pair->flags))
		return -EIDRM;
	return 0;
}

/**
 * scone_poller_kill() - make the pair's waiter, if any, leave
 * @pair: a pair just removed from its file's table
 *
 * Also accounts the requests posted since the last look, so that
 * requests_seen is exact when a pair is unregistered.
 */
void scone_poller_kill(struct scone_pair *pair)
{
	unsigned long irqf;

	set_bit(SCONE_PAIR_DEAD, &pair->flags);
	spin_lock_irqsave(&poller.lock, irqf);
	scone_pair_observe(pair);
	spin_unlock_irqrestore(&poller.lock, irqf);
	wake_up(&pair->wq);
}

/**
 * scone_poller_init() - set up the (unarmed) poller at module load
 */
void scone_poller_init(void)
{
	spin_lock_init(&poller.lock);
	INIT_LIST_HEAD(&poller.sleepers);
	scone_hrtimer_setup(&poller.timer, scone_poll, CLOCK_MONOTONIC,
			    HRTIMER_MODE_REL_PINNED);
	poller.interval_ns = scone_poll_min();
}

/**
 * scone_poller_exit() - stop the poller at module unload
 *
 * No file is open then, so no sthread sleeps and the timer is at most
 * finishing its last run.
 */
void scone_poller_exit(void)
{
	hrtimer_cancel(&poller.timer);
}
