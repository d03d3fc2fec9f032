/*
 * How an enclave thread waits for something that completes elsewhere: the
 * response to an external system call posted to a queue (DESIGN.md §5).
 *
 * The syscall client defines weak versions in which the ethread itself
 * waits (polls the responses, spins SCONE_ESPINS times, then sleeps outside
 * the enclave). The M:N scheduler overrides them with strong definitions:
 * __scone_wait parks the current lthread and runs another; the scheduler
 * calls __scone_poll from its loop, and the client calls __scone_wake for
 * each response it harvests, which makes the owner runnable again.
 */
#ifndef SCONE_TRUSTED_WAIT_H
#define SCONE_TRUSTED_WAIT_H

#include <stdatomic.h>

struct scone_waiter {
	atomic_int done;           /* set once, by __scone_wake */
	long result;               /* what the waiter gets back */
	void *owner;               /* the scheduler's lthread; NULL before M:N */
};

/* Return once w->done is set. */
void __scone_wait(struct scone_waiter *w) __attribute__((visibility("hidden")));
/* Set w->result and w->done; make w->owner runnable. */
void __scone_wake(struct scone_waiter *w, long result) __attribute__((visibility("hidden")));
/* Harvest every response ready on this ethread's queues, calling
 * __scone_wake for each; return how many completed. Never blocks. */
int __scone_poll(void) __attribute__((visibility("hidden")));

#endif
