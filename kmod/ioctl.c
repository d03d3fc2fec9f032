// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of /dev/scone. Each one validates in the same order: the
 * file's state, then copy_from_user, then flags and reserved fields, then
 * alignment and bounds, and only then changes anything.
 */
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm_types.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "scone.h"

static bool scone_reserved_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* Caller holds sf->lock. */
static int scone_file_find_slot(struct scone_file *sf, unsigned long uaddr)
{
	int free_id = -ENOSPC;
	u32 id;

	for (id = 0; id < SCONE_KMOD_MAX_PAIRS; id++) {
		if (!sf->pairs[id]) {
			if (free_id < 0)
				free_id = id;
		} else if (sf->pairs[id]->uaddr == uaddr) {
			return -EEXIST;
		}
	}
	return free_id;
}

/* Caller holds sf->lock; the table's reference passes to the caller. */
static struct scone_pair *scone_file_take(struct scone_file *sf, u32 id)
{
	struct scone_pair *pair;

	if (id >= SCONE_KMOD_MAX_PAIRS || !sf->pairs[id])
		return NULL;
	pair = sf->pairs[id];
	sf->pairs[id] = NULL;
	return pair;
}

static void scone_pair_retire(struct scone_pair *pair)
{
	scone_poller_kill(pair);
	scone_pair_put(pair);
}

/**
 * scone_ioc_register() - SCONE_KMOD_IOC_REGISTER: watch a queue pair
 * @sf: the file's state
 * @uarg: user pointer to struct scone_kmod_register
 *
 * Pins the page(s) of the pair's header for as long as it stays registered
 * and returns its id in @uarg->id.
 *
 * Return: 0 on success;
 * -EACCES when the caller's address space is not the one that opened the
 * file (a passed or inherited descriptor);
 * -EFAULT when @uarg cannot be read or written, or the pair is not in a
 * writable mapping of the caller that can be pinned long-term;
 * -EINVAL when flags, id or reserved are not zero, addr is 0 or not 64-byte
 * aligned, entries is not a power of two in [SCONE_KMOD_MIN_ENTRIES,
 * SCONE_KMOD_MAX_ENTRIES], or the header's entries differ;
 * -EPROTO when the header's magic or version is not SCONE_QUEUE_MAGIC,
 * SCONE_QUEUE_VERSION;
 * -EEXIST when the pair at addr is already registered on this file;
 * -ENOSPC when SCONE_KMOD_MAX_PAIRS pairs are registered on this file;
 * -ENOMEM when memory runs out.
 */
static long scone_ioc_register(struct scone_file *sf,
			       struct scone_kmod_register __user *uarg)
{
	struct scone_kmod_register reg;
	struct scone_pair *pair;
	unsigned long uaddr;
	size_t bytes;
	int id;
	long ret;

	if (current->mm != sf->mm)
		return -EACCES;
	if (copy_from_user(&reg, uarg, sizeof(reg)))
		return -EFAULT;
	if (reg.flags || reg.id ||
	    !scone_reserved_zero(reg.reserved, sizeof(reg.reserved)))
		return -EINVAL;
	if (!reg.addr || !IS_ALIGNED(reg.addr, SCONE_CACHELINE))
		return -EINVAL;
	if (!is_power_of_2(reg.entries) ||
	    reg.entries < SCONE_KMOD_MIN_ENTRIES ||
	    reg.entries > SCONE_KMOD_MAX_ENTRIES)
		return -EINVAL;
	uaddr = reg.addr;
	bytes = scone_queue_pair_bytes(reg.entries);
	if (uaddr != reg.addr || !access_ok((void __user *)uaddr, bytes))
		return -EFAULT;

	mutex_lock(&sf->lock);
	id = scone_file_find_slot(sf, uaddr);
	if (id < 0) {
		ret = id;
		goto unlock;
	}
	pair = scone_pair_create(uaddr, reg.entries);
	if (IS_ERR(pair)) {
		ret = PTR_ERR(pair);
		goto unlock;
	}
	if (put_user((u32)id, &uarg->id)) {
		ret = -EFAULT;
		goto retire_pair;
	}
	sf->pairs[id] = pair;
	mutex_unlock(&sf->lock);
	return 0;

retire_pair:
	scone_pair_retire(pair);
unlock:
	mutex_unlock(&sf->lock);
	return ret;
}

/**
 * scone_ioc_wait() - SCONE_KMOD_IOC_WAIT: sleep until a request is posted
 * @sf: the file's state
 * @uarg: user pointer to struct scone_kmod_wait
 *
 * The sthread that owns the pair sleeps until req_tail != req_head, its
 * timeout passes or a signal arrives; see scone_poller_wait().
 *
 * Return: 0 when a request is pending;
 * -EFAULT when @uarg cannot be read;
 * -EINVAL when flags or reserved are not zero;
 * -ENOENT when id is not registered on this file;
 * -EBUSY when another thread already waits on this pair;
 * -ETIMEDOUT when timeout_ns passed without a request;
 * -EINTR when a signal arrived (not restarted: the caller re-checks its
 * queue first);
 * -EIDRM when the pair was unregistered while waiting.
 */
static long scone_ioc_wait(struct scone_file *sf,
			   struct scone_kmod_wait __user *uarg)
{
	struct scone_kmod_wait wait;
	struct scone_pair *pair = NULL;
	long ret;

	if (copy_from_user(&wait, uarg, sizeof(wait)))
		return -EFAULT;
	if (wait.flags ||
	    !scone_reserved_zero(wait.reserved, sizeof(wait.reserved)))
		return -EINVAL;

	mutex_lock(&sf->lock);
	if (wait.id < SCONE_KMOD_MAX_PAIRS)
		pair = sf->pairs[wait.id];
	if (pair)
		kref_get(&pair->ref);
	mutex_unlock(&sf->lock);
	if (!pair)
		return -ENOENT;

	ret = scone_poller_wait(pair, wait.timeout_ns);
	scone_pair_put(pair);
	return ret;
}

/**
 * scone_ioc_unregister() - SCONE_KMOD_IOC_UNREGISTER: stop watching a pair
 * @sf: the file's state
 * @uarg: user pointer to struct scone_kmod_unregister
 *
 * A thread waiting on the pair returns -EIDRM; the pages are unpinned when
 * it has left.
 *
 * Return: 0 on success;
 * -EFAULT when @uarg cannot be read;
 * -EINVAL when reserved is not zero;
 * -ENOENT when id is not registered on this file.
 */
static long scone_ioc_unregister(struct scone_file *sf,
				 struct scone_kmod_unregister __user *uarg)
{
	struct scone_kmod_unregister unreg;
	struct scone_pair *pair;

	if (copy_from_user(&unreg, uarg, sizeof(unreg)))
		return -EFAULT;
	if (unreg.reserved)
		return -EINVAL;

	mutex_lock(&sf->lock);
	pair = scone_file_take(sf, unreg.id);
	mutex_unlock(&sf->lock);
	if (!pair)
		return -ENOENT;
	scone_pair_retire(pair);
	return 0;
}

/**
 * scone_file_unregister_all() - retire every pair of a file being released
 * @sf: the file's state
 *
 * Context: release; no ioctl on the file runs any more.
 */
void scone_file_unregister_all(struct scone_file *sf)
{
	struct scone_pair *pair;
	u32 id;

	for (id = 0; id < SCONE_KMOD_MAX_PAIRS; id++) {
		pair = scone_file_take(sf, id);
		if (pair)
			scone_pair_retire(pair);
	}
}

/**
 * scone_ioctl() - dispatch the ioctls of /dev/scone
 * @file: the open device
 * @cmd: SCONE_KMOD_IOC_REGISTER, _WAIT or _UNREGISTER
 * @arg: user pointer to the command's struct
 *
 * Return: as documented for each command; -ENOTTY for any other @cmd.
 */
long scone_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct scone_file *sf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case SCONE_KMOD_IOC_REGISTER:
		return scone_ioc_register(sf, uarg);
	case SCONE_KMOD_IOC_WAIT:
		return scone_ioc_wait(sf, uarg);
	case SCONE_KMOD_IOC_UNREGISTER:
		return scone_ioc_unregister(sf, uarg);
	default:
		return -ENOTTY;
	}
}
