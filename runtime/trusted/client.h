/*
 * The syscall client (DESIGN.md §5 "external"): how an external system
 * call leaves the enclave. Asynchronous (default): marshalled into an arena
 * unit, posted to a queue pair, answered by an sthread; the caller waits
 * through wait.h. Synchronous (SCONE_SYSCALL=sync): marshalled into this
 * TCS's own unit, then an exit carries arena pointers only.
 */
#ifndef SCONE_TRUSTED_CLIENT_H
#define SCONE_TRUSTED_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>

#include <scone/queue_abi.h>
#include <scone/syscall_table.h>

#include "internal.h"
#include "wait.h"

struct scone_pending {
	uint64_t cookie;
	struct scone_waiter *w;            /* NULL: slot free */
};

struct scone_pair {                        /* trusted view of one queue pair */
	struct scone_queue_pair *qp;       /* host */
	struct scone_request *req;         /* host */
	struct scone_response *rsp;        /* host */
	atomic_flag lock;
	uint32_t tail;                     /* req_tail: only we write it */
	uint32_t head;                     /* rsp_head: only we write it */
	struct scone_pending *pending;     /* [entries], enclave heap */
};

struct scone_client {
	int ready;                         /* an area was given at START */
	int async;
	int kmod;                          /* the module wakes sthreads */
	int adaptive;                      /* SCONE_SYSCALL=adaptive (adapt.c) */
	int tsc;                           /* RDTSC may run inside: adapt.c times calls */
	uint32_t queues, entries, espins;
	uint32_t units, async_units;
	uint64_t unit_bytes;
	char *arena;                       /* host */
	struct scone_syscall_area *area;   /* host */
	struct scone_pair *pairs;          /* enclave heap */
	atomic_ulong *unit_free;           /* bitmap of free async units */
	uint64_t cookie_gen;
	atomic_uint posted, harvested;     /* statistics, for the debug log */
	atomic_ulong by_queue, by_exit, woken; /* SCONE_LOG=info at exit */
	atomic_ulong probes;               /* adapt.c */
};
extern struct scone_client __scone_client SCONE_HIDDEN;

/* START: copy and check the host's syscall area (queue_abi.h); 0 = none given. */
void __scone_client_init(uint64_t host_area, int sim) SCONE_HIDDEN;

/* One external call, described by the table or by d. Returns -errno or the result. */
long __scone_external(long nr, const long a[6]) SCONE_HIDDEN;
long __scone_external_desc(long nr, const struct scone_sys_desc *d, const long a[6]) SCONE_HIDDEN;
/* One round trip, no chunking; *laid = bytes laid out if the marshaller cut
 * the transfer to the arena unit, else 0. */
long __scone_call_once(long nr, const struct scone_sys_desc *d, const long a[6], uint64_t *laid) SCONE_HIDDEN;
/* chunk.c: the rest of a transfer whose first chunk (done bytes) filled the unit. */
long __scone_chunk_rest(long nr, const long a[6], long done) SCONE_HIDDEN;

/* adapt.c: how one call goes under SCONE_SYSCALL=adaptive; the caller
 * notes the cycles from __scone_adapt_now() (0 outside SIM) when done. */
enum { SCONE_ADAPT_QUEUE, SCONE_ADAPT_QUEUE_AWAKE, SCONE_ADAPT_QUEUE_ASLEEP, SCONE_ADAPT_EXIT,
       SCONE_ADAPT_EXIT_BLOCKING };
int __scone_adapt_choose(long nr, const long a[6]) SCONE_HIDDEN;
uint64_t __scone_adapt_now(void) SCONE_HIDDEN;
void __scone_adapt_note(int how, uint64_t t0) SCONE_HIDDEN;
/* The counters above, one log line at SCONE_LOG=info. */
void __scone_client_report(void) SCONE_HIDDEN;

/* queue.c */
void __scone_post(long nr, const long host_args[6], struct scone_waiter *w) SCONE_HIDDEN;
/* Cancel the call with cookie posted to pair q, or the running lthread's
 * own (queue_abi.h "Cancellation"); its response still ends it. */
void __scone_cancel(uint32_t q, uint64_t cookie) SCONE_HIDDEN;
void __scone_cancel_own(void) SCONE_HIDDEN;

/* arena.c: async units, one per call in flight */
char *__scone_unit_get(void) SCONE_HIDDEN;
void __scone_unit_put(char *unit) SCONE_HIDDEN;
char *__scone_unit_sync(void) SCONE_HIDDEN;

/* The TCS index of the running thread (its thread page). */
static inline uint32_t __scone_tcs_index(void)
{
	uint32_t i;
	__asm__("movl %%gs:24, %0" : "=r"(i));
	return i;
}

#endif
