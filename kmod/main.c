// SPDX-License-Identifier: GPL-2.0
/*
 * scone.ko: lets the syscall threads (sthreads) of SCONE enclaves sleep in
 * the kernel and be woken within microseconds when the enclave posts a
 * request to their queue pair, without the enclave leaving to wake them
 * and without the sthreads spinning. See DESIGN.md section 6.
 *
 * /dev/scone is a misc device; each open file holds the pairs one process
 * registered, and closing it (or the process dying) releases them all.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "scone.h"

static int scone_open(struct inode *inode, struct file *file)
{
	struct scone_file *sf;

	if (!current->mm)
		return -EINVAL;
	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	mutex_init(&sf->lock);
	mmgrab(current->mm);
	sf->mm = current->mm;
	file->private_data = sf;
	return 0;
}

/* Last reference gone: closed, or its process died; no ioctl runs. */
static int scone_release(struct inode *inode, struct file *file)
{
	struct scone_file *sf = file->private_data;

	scone_file_unregister_all(sf);
	mmdrop(sf->mm);
	mutex_destroy(&sf->lock);
	kfree(sf);
	return 0;
}

static const struct file_operations scone_fops = {
	.owner = THIS_MODULE,
	.open = scone_open,
	.release = scone_release,
	.unlocked_ioctl = scone_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice scone_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "scone",
	.fops = &scone_fops,
	.groups = scone_stats_groups,
	.mode = 0600,
};

static int __init scone_init(void)
{
	int ret;

	scone_poller_init();
	ret = misc_register(&scone_miscdev);
	if (ret)
		goto stop_poller;
	pr_info("scone: /dev/scone ready (queue ABI %u, ioctl ABI %u)\n",
		SCONE_QUEUE_VERSION, SCONE_KMOD_ABI_VERSION);
	return 0;

stop_poller:
	scone_poller_exit();
	return ret;
}

static void __exit scone_exit(void)
{
	misc_deregister(&scone_miscdev);
	scone_poller_exit();
	/* Every file was released before unload: a leak here is a bug. */
	WARN_ON(atomic64_read(&scone_stats.pairs) ||
		atomic64_read(&scone_stats.pinned_pages));
	pr_info("scone: unloaded\n");
}

module_init(scone_init);
module_exit(scone_exit);

MODULE_DESCRIPTION("SCONE: wake sleeping syscall threads when an enclave posts a request");
MODULE_LICENSE("GPL");
