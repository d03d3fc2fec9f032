/*
 * The asynchronous system-call queues: the ABI shared by the enclave
 * (producer of requests, consumer of responses), the syscall threads
 * outside (sthreads) and the optional kernel module, which only reads the
 * indices to know when to wake a sleeping sthread.
 *
 * One queue pair = one request ring + one response ring, in untrusted
 * shared memory, each a power of two of 64-byte slots. Every pair is owned
 * by exactly one sthread; the enclave chooses the pair for each request
 * (an idle sthread first), so that a call that blocks outside (accept,
 * epoll_wait) holds up only the requests posted behind it on that pair.
 *
 * Indices are free-running u32 (slot = index & mask), each written by
 * exactly one side:
 *   req.tail  written by the enclave   read by the sthread and the module
 *   req.head  written by the sthread   read by the module (the enclave
 *                                      never needs it, see below)
 *   rsp.tail  written by the sthread   read by the enclave
 *   rsp.head  written by the enclave   read by the sthread
 *   sthread_state written by the sthread (or by scone.ko on its behalf
 *   while it waits in the module); enclave_state by the enclave.
 *
 * Memory ordering (C11): a producer writes the slot, then stores tail with
 * memory_order_release; a consumer loads tail with memory_order_acquire
 * before it reads the slot, and stores head with release after it has
 * copied the slot out; the producer loads head with acquire before it
 * reuses a slot. Sleeping (both sides): store the SLEEPING state, a full
 * fence, look at the index once more, then sleep on a futex whose value is
 * what was just seen (an sthread waits on req.tail itself; an ethread on
 * syscall_area.enclave_wake, a counter), so a wake-up that comes before the
 * wait is never lost; the other side stores its index, a full fence, then
 * reads the state and wakes a sleeper.
 *
 * Flow control: the enclave keeps at most `entries` requests of a pair
 * unanswered (its own req.tail - rsp.head), so neither ring can overflow
 * and it never has to trust req.head.
 *
 * Cancellation (a signal interrupts a call that waits outside, or
 * pthread_cancel ends it): the enclave stores the call's cookie in
 * cancel[cookie & 0xffffffff] of the pair it was posted to (the index of
 * its pending entry, < entries), then posts a request with nr
 * SCONE_QUEUE_NR_CANCEL on any pair to wake the host. The host answers the
 * cancelled call as soon as it would wait again: with -EINTR, or
 * -SCONE_ERESTARTSYS where signal(7) lets SA_RESTART restart it, or the
 * count already transferred. A call that completes first is answered as
 * usual: the word is a request, not a result. Race-free because nothing is
 * ever answered twice: the cancelled call's one response is still the only
 * thing that ends it, so its arena unit stays the enclave's until then; a
 * host that looks at the word before it waits (sthreads before parking,
 * the poller on every pass over its parked calls, all after the wake-up
 * request) cannot miss a store made before that request; and a stale word
 * never matches a later call, since cookies are never reused. Only the
 * enclave writes cancel[]; the host only reads it.
 *
 * Trust: the enclave copies every index and slot it reads from here, then
 * checks the copy (rsp.tail - rsp.head <= requests outstanding, a cookie
 * it issued for a slot still pending, result within what was asked), then
 * uses it; it never reads the same field twice.
 */
#ifndef SCONE_QUEUE_ABI_H
#define SCONE_QUEUE_ABI_H

#ifdef __KERNEL__
/* scone.ko includes this header: same layout, kernel spellings of the types. */
#include <linux/types.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

#define SCONE_QUEUE_MAGIC 0x5545555143534e45ull /* "ENSCQUEU" */
#define SCONE_QUEUE_VERSION 2u
#define SCONE_CACHELINE 64u

struct scone_request {             /* 64 bytes: one system call */
	int64_t nr;
	int64_t args[6];           /* marshalled: pointers are into the
	                              untrusted per-thread arena */
	uint64_t cookie;           /* chosen by the enclave, echoed back */
};

struct scone_response {            /* 64 bytes */
	uint64_t cookie;
	int64_t ret;               /* raw result: -errno on failure */
	uint64_t reserved[6];
};

/* sthread_state values */
#define SCONE_STHREAD_RUNNING  0u  /* executing or spinning: no wake-up needed */
#define SCONE_STHREAD_SLEEPING 1u  /* sleeping: wake it (futex or module) */

struct scone_ring_index {          /* one index on its own cache line */
	_Alignas(SCONE_CACHELINE) uint32_t value;
};

/* ABI — do not reorder. */
struct scone_queue_pair {
	uint64_t magic;            /* SCONE_QUEUE_MAGIC */
	uint32_t version;
	uint32_t entries;          /* slots per ring, a power of two */
	struct scone_ring_index req_tail;
	struct scone_ring_index req_head;
	struct scone_ring_index rsp_tail;
	struct scone_ring_index rsp_head;
	struct scone_ring_index sthread_state;
	struct scone_ring_index enclave_state;
	/* followed by: struct scone_request req[entries];
	 *              struct scone_response rsp[entries];
	 *              uint64_t cancel[entries];    (see Cancellation) */
};

_Static_assert(sizeof(struct scone_request) == 64, "queue ABI");
_Static_assert(sizeof(struct scone_response) == 64, "queue ABI");
_Static_assert(offsetof(struct scone_queue_pair, req_tail) == 64, "queue ABI");
_Static_assert(offsetof(struct scone_queue_pair, req_head) == 128, "queue ABI");
_Static_assert(offsetof(struct scone_queue_pair, sthread_state) == 320, "queue ABI");
_Static_assert(sizeof(struct scone_queue_pair) == 448, "queue ABI");

#define SCONE_QUEUE_REQ_OFFSET 512u /* slots start on a fresh cache line after the header */

static inline size_t scone_queue_pair_bytes(uint32_t entries)
{
	return SCONE_QUEUE_REQ_OFFSET + (size_t)entries * (128u + 8u);
}

/* The cancel words of a pair (see Cancellation). */
#define SCONE_QUEUE_CANCEL_OFFSET(entries) (SCONE_QUEUE_REQ_OFFSET + (size_t)(entries) * 128u)

/* A request that only wakes the host to look at the cancel words; answered 0. */
#define SCONE_QUEUE_NR_CANCEL (-4096)
/* The answer to a cancelled call that SA_RESTART restarts (the kernel's own
 * ERESTARTSYS); the enclave never passes it on to the program. */
#define SCONE_ERESTARTSYS 512

/* enclave_state values */
#define SCONE_ENCLAVE_RUNNING  0u  /* polling for responses: no wake-up needed */
#define SCONE_ENCLAVE_SLEEPING 1u  /* asleep outside on syscall_area.enclave_wake */

/*
 * What the starter gives the enclave for its system calls, in host memory:
 * scone_start_args.reserved[SCONE_START_SYSCALL_AREA] points here (that
 * slot is the only reserved word START accepts non-zero). Copied once at
 * START, then checked: every count within its bound below before any
 * product of counts is formed, the products overflow-checked, and every
 * range non-empty, 64-byte aligned, in canonical user memory above 64 KiB
 * and entirely outside the enclave. The enclave never reads these fields
 * again.
 *
 * Arena: host memory the enclave copies pointer arguments into and results
 * out of. It is cut into arena_units units of arena_unit bytes; the enclave
 * hands one unit to each call in flight (so a parked caller keeps its own
 * until it has copied its results back) and unit arena_units - 1 - i to
 * TCS i for its synchronous exits.
 *
 * enclave_wake: the futex an idle ethread sleeps on (enclave_state says
 * SLEEPING on every pair first); an sthread that posts a response to a
 * pair whose enclave_state is SLEEPING increments it and wakes it.
 */
#define SCONE_START_SYSCALL_AREA 0
#define SCONE_SYSCALL_AREA_MAGIC 0x4145524143535953ull /* "SYSCAREA" */
#define SCONE_SYSCALL_ASYNC 1u     /* post external calls to the queues */
#define SCONE_SYSCALL_KMOD  2u     /* scone.ko wakes sthreads: never wake them */
#define SCONE_SYSCALL_ADAPTIVE 4u  /* with ASYNC: a short call may exit instead (DESIGN.md §5) */

#define SCONE_QUEUES_MAX 64u
#define SCONE_SLOTS_MAX 4096u
#define SCONE_ARENA_UNIT_MIN (64u << 10)
#define SCONE_ARENA_UNIT_MAX (64ull << 20)    /* bounds for the enclave's checks */
#define SCONE_ARENA_UNITS_MAX (1u << 16)

/* ABI — do not reorder. */
struct scone_syscall_area {
	uint64_t magic;            /* SCONE_SYSCALL_AREA_MAGIC */
	uint32_t version;          /* SCONE_QUEUE_VERSION */
	uint32_t flags;            /* SCONE_SYSCALL_* */
	uint32_t queues;           /* pairs, 0 in sync mode */
	uint32_t entries;          /* slots per ring, a power of two */
	uint64_t pairs;            /* the first pair; pair i at pairs + i * scone_queue_pair_bytes(entries) */
	uint64_t arena;            /* arena_units * arena_unit bytes */
	uint64_t arena_unit;       /* bytes, a multiple of 4096, SCONE_ARENA_UNIT_MIN..MAX */
	uint32_t arena_units;      /* > TCS count, <= SCONE_ARENA_UNITS_MAX */
	uint32_t espins;           /* SCONE_ESPINS: polls before an idle ethread sleeps */
	uint32_t pid;              /* getpid(), cached: the host's word, as any syscall's */
	uint32_t tid;              /* gettid() of the thread entering TCS 0 */
	struct scone_ring_index enclave_wake;
};
_Static_assert(offsetof(struct scone_syscall_area, enclave_wake) == 64, "syscall area ABI");
_Static_assert(sizeof(struct scone_syscall_area) == 128, "syscall area ABI");

#endif
