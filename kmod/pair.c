// SPDX-License-Identifier: GPL-2.0
/*
 * A registered queue pair: its header pages pinned and mapped into the
 * kernel, so the poller can read the indices from any context without
 * faulting and without the owning process being scheduled.
 *
 * Only the header (struct scone_queue_pair, 448 bytes) is pinned: the
 * module never reads a slot, so the rings stay ordinary pageable memory.
 * Everything read here was written by an untrusted process: the values
 * only decide whether to wake a thread and are never used as an index.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "scone.h"

static int scone_pair_check_header(const struct scone_queue_pair *qp,
				   u32 entries)
{
	if (READ_ONCE(qp->magic) != SCONE_QUEUE_MAGIC ||
	    READ_ONCE(qp->version) != SCONE_QUEUE_VERSION)
		return -EPROTO;
	if (READ_ONCE(qp->entries) != entries)
		return -EINVAL;
	return 0;
}

/**
 * scone_pair_create() - pin and map the header of a queue pair
 * @uaddr: user address of the pair in current->mm, already checked to be
 *         64-byte aligned and within the user address range
 * @entries: slots per ring, already checked to be a power of two in bounds
 *
 * Implements the registration step of the queue ABI (queue_abi.h): the
 * header must carry SCONE_QUEUE_MAGIC, SCONE_QUEUE_VERSION and @entries.
 *
 * Return: the pair with one reference, or ERR_PTR(-ENOMEM) when memory or
 * vmalloc space runs out, ERR_PTR(-EFAULT) when the header is not in a
 * writable mapping that can be pinned long-term, ERR_PTR(-EPROTO) when the
 * magic or version differ, ERR_PTR(-EINVAL) when the header's entries
 * differ from @entries.
 */
struct scone_pair *scone_pair_create(unsigned long uaddr, u32 entries)
{
	unsigned long first = uaddr & PAGE_MASK;
	struct scone_pair *pair;
	int pinned;
	int ret;

	pair = kzalloc(sizeof(*pair), GFP_KERNEL);
	if (!pair)
		return ERR_PTR(-ENOMEM);
	pair->npages = DIV_ROUND_UP(offset_in_page(uaddr) +
				    sizeof(struct scone_queue_pair), PAGE_SIZE);
	pair->pages = kcalloc(pair->npages, sizeof(*pair->pages), GFP_KERNEL);
	if (!pair->pages) {
		ret = -ENOMEM;
		goto free_pair;
	}

	/* Long-term: the pin lasts as long as the registration. */
	pinned = pin_user_pages_fast(first, pair->npages,
				     FOLL_WRITE | FOLL_LONGTERM, pair->pages);
	if (pinned < 0) {
		/* Keep the documented set: anything but -ENOMEM is the range. */
		ret = pinned == -ENOMEM ? -ENOMEM : -EFAULT;
		goto free_pages_array;
	}
	if (pinned != pair->npages) {
		ret = -EFAULT;
		goto unpin_pages;
	}

	pair->vaddr = vmap(pair->pages, pair->npages, VM_MAP, PAGE_KERNEL);
	if (!pair->vaddr) {
		ret = -ENOMEM;
		goto unpin_pages;
	}
	pair->qp = pair->vaddr + offset_in_page(uaddr);

	ret = scone_pair_check_header(pair->qp, entries);
	if (ret)
		goto unmap_pages;

	kref_init(&pair->ref);
	INIT_LIST_HEAD(&pair->sleep_node);
	init_waitqueue_head(&pair->wq);
	pair->uaddr = uaddr;
	pair->entries = entries;
	/* Pairs with the enclave's release store of req_tail (queue_abi.h). */
	pair->seen_tail = smp_load_acquire(&pair->qp->req_tail.value);
	atomic64_add(pair->npages, &scone_stats.pinned_pages);
	atomic64_inc(&scone_stats.pairs);
	return pair;

unmap_pages:
	vunmap(pair->vaddr);
unpin_pages:
	if (pinned > 0)
		unpin_user_pages(pair->pages, pinned);
free_pages_array:
	kfree(pair->pages);
free_pair:
	kfree(pair);
	return ERR_PTR(ret);
}

static void scone_pair_release(struct kref *ref)
{
	struct scone_pair *pair = container_of(ref, struct scone_pair, ref);

	vunmap(pair->vaddr);
	/* The module wrote sthread_state through its own mapping. */
	unpin_user_pages_dirty_lock(pair->pages, pair->npages, true);
	atomic64_sub(pair->npages, &scone_stats.pinned_pages);
	atomic64_dec(&scone_stats.pairs);
	kfree(pair->pages);
	kfree(pair);
}

/**
 * scone_pair_put() - drop a reference; the last one unmaps and unpins
 * @pair: a pair returned by scone_pair_create()
 *
 * Context: process context (vunmap and unpinning may sleep).
 */
void scone_pair_put(struct scone_pair *pair)
{
	kref_put(&pair->ref, scone_pair_release);
}

/**
 * scone_pair_pending() - whether the enclave has posted a request that the
 * pair's sthread has not taken yet
 * @pair: a registered pair
 *
 * Implements the consumer side of queue_abi.h: req_tail is loaded with
 * acquire, as a consumer must before it acts on a request.
 *
 * Return: true when req_tail != req_head.
 */
bool scone_pair_pending(struct scone_pair *pair)
{
	/* Pairs with the enclave's release store of req_tail (queue_abi.h). */
	u32 tail = smp_load_acquire(&pair->qp->req_tail.value);

	return tail != READ_ONCE(pair->qp->req_head.value);
}

/**
 * scone_pair_observe() - count the requests posted since the last look
 * @pair: a registered pair
 *
 * Context: poller lock held. A backwards step of req_tail (a confused or
 * hostile host) only resynchronises the count.
 */
void scone_pair_observe(struct scone_pair *pair)
{
	/* Pairs with the enclave's release store of req_tail (queue_abi.h). */
	u32 tail = smp_load_acquire(&pair->qp->req_tail.value);
	s32 delta = (s32)(tail - pair->seen_tail);

	if (delta > 0)
		atomic64_add(delta, &scone_stats.requests_seen);
	pair->seen_tail = tail;
}
