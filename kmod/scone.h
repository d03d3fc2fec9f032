/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scone.ko internals: a registered queue pair, the per-file table, the
 * adaptive poller and the counters exported in sysfs.
 */
#ifndef SCONE_KMOD_H
#define SCONE_KMOD_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <scone/queue_abi.h>
#include "uapi/scone_kmod.h"

/* bits of scone_pair.flags */
#define SCONE_PAIR_WAITING 0	/* an sthread sleeps in SCONE_KMOD_IOC_WAIT */
#define SCONE_PAIR_DEAD 1	/* unregistered: waiters must leave */

/**
 * struct scone_pair - one registered queue pair
 * @ref: held by the file's table and by each waiter
 * @pages: the pinned pages holding the pair's header
 * @npages: number of @pages (1, or 2 when the header straddles a page)
 * @vaddr: kernel mapping of @pages
 * @qp: the header, inside @vaddr
 * @uaddr: user address it was registered at (to refuse duplicates)
 * @entries: slots per ring, as registered
 * @seen_tail: last req_tail accounted in requests_seen; poller lock
 * @kicked: the poller already woke the current waiter; poller lock
 * @sleep_node: on the poller's list while an sthread waits; poller lock
 * @wq: where the waiting sthread sleeps
 * @flags: SCONE_PAIR_WAITING, SCONE_PAIR_DEAD
 */
struct scone_pair {
	struct kref ref;
	struct page **pages;
	unsigned int npages;
	void *vaddr;
	struct scone_queue_pair *qp;
	unsigned long uaddr;
	u32 entries;
	u32 seen_tail;
	bool kicked;
	struct list_head sleep_node;
	wait_queue_head_t wq;
	unsigned long flags;
};

/**
 * struct scone_file - state of one open /dev/scone
 * @lock: serialises changes of @pairs
 * @mm: the address space that opened the file; only it may register
 * @pairs: registered pairs, indexed by id
 */
struct scone_file {
	struct mutex lock;	/* guards @pairs */
	struct mm_struct *mm;
	struct scone_pair *pairs[SCONE_KMOD_MAX_PAIRS];
};

/**
 * struct scone_stats - counters shown in /sys/class/misc/scone/
 * @wakeups: sthreads woken by the poller because a request was posted
 * @polls: poller runs
 * @requests_seen: requests observed in registered pairs (req_tail advances)
 * @waits: SCONE_KMOD_IOC_WAIT calls
 * @timeouts: waits that ended by their timeout
 * @pairs: pairs registered now
 * @pinned_pages: user pages pinned now
 */
struct scone_stats {
	atomic64_t wakeups;
	atomic64_t polls;
	atomic64_t requests_seen;
	atomic64_t waits;
	atomic64_t timeouts;
	atomic64_t pairs;
	atomic64_t pinned_pages;
};

extern struct scone_stats scone_stats;
extern const struct attribute_group *scone_stats_groups[];

struct scone_pair *scone_pair_create(unsigned long uaddr, u32 entries);
void scone_pair_put(struct scone_pair *pair);
bool scone_pair_pending(struct scone_pair *pair);
void scone_pair_observe(struct scone_pair *pair);

void scone_poller_init(void);
void scone_poller_exit(void);
int scone_poller_wait(struct scone_pair *pair, u64 timeout_ns);
void scone_poller_kill(struct scone_pair *pair);

long scone_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void scone_file_unregister_all(struct scone_file *sf);

#endif
