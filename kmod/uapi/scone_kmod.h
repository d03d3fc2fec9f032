/* SPDX-License-Identifier: MIT */
/*
 * The ioctl ABI of /dev/scone, shared by scone.ko and the starter.
 *
 * One open file holds up to SCONE_KMOD_MAX_PAIRS registered queue pairs
 * (struct scone_queue_pair of <scone/queue_abi.h>), one per sthread. The
 * module pins the header page(s) of each pair and only reads req_tail and
 * req_head; during SCONE_KMOD_IOC_WAIT it writes sthread_state on behalf
 * of the waiting sthread (SLEEPING on entry, RUNNING on return), so the
 * single-writer rule of the queue ABI still holds.
 *
 * Every struct has explicit padding and reserved fields that must be zero:
 * a later version may give them a meaning, and an older module must then
 * refuse them (-EINVAL) rather than ignore them.
 */
#ifndef SCONE_KMOD_UAPI_H
#define SCONE_KMOD_UAPI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define SCONE_KMOD_DEVICE "/dev/scone"
#define SCONE_KMOD_ABI_VERSION 1u

#define SCONE_KMOD_MAX_PAIRS 64u
#define SCONE_KMOD_MIN_ENTRIES 2u
#define SCONE_KMOD_MAX_ENTRIES 65536u

/**
 * struct scone_kmod_register - argument of SCONE_KMOD_IOC_REGISTER
 * @addr: user address of a struct scone_queue_pair, 64-byte aligned, in a
 *        writable private or shared mapping of the calling process
 * @entries: slots per ring; a power of two in
 *           [SCONE_KMOD_MIN_ENTRIES, SCONE_KMOD_MAX_ENTRIES], equal to the
 *           header's entries field
 * @flags: must be 0
 * @id: must be 0; out: the pair's id for SCONE_KMOD_IOC_WAIT and
 *      SCONE_KMOD_IOC_UNREGISTER
 * @reserved: must be 0
 */
struct scone_kmod_register {
	__u64 addr;
	__u32 entries;
	__u32 flags;
	__u32 id;
	__u32 reserved[3];
};

/**
 * struct scone_kmod_wait - argument of SCONE_KMOD_IOC_WAIT
 * @id: a pair id returned by SCONE_KMOD_IOC_REGISTER on this file
 * @flags: must be 0
 * @timeout_ns: relative timeout; 0 waits without a limit
 * @reserved: must be 0
 */
struct scone_kmod_wait {
	__u32 id;
	__u32 flags;
	__u64 timeout_ns;
	__u64 reserved[2];
};

/**
 * struct scone_kmod_unregister - argument of SCONE_KMOD_IOC_UNREGISTER
 * @id: a pair id returned by SCONE_KMOD_IOC_REGISTER on this file
 * @reserved: must be 0
 */
struct scone_kmod_unregister {
	__u32 id;
	__u32 reserved;
};

/* 0xB2 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define SCONE_KMOD_IOC_MAGIC 0xB2
#define SCONE_KMOD_IOC_REGISTER \
	_IOWR(SCONE_KMOD_IOC_MAGIC, 0x01, struct scone_kmod_register)
#define SCONE_KMOD_IOC_WAIT \
	_IOW(SCONE_KMOD_IOC_MAGIC, 0x02, struct scone_kmod_wait)
#define SCONE_KMOD_IOC_UNREGISTER \
	_IOW(SCONE_KMOD_IOC_MAGIC, 0x03, struct scone_kmod_unregister)

#endif
