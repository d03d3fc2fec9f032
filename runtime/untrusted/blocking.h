/*
 * Calls that may block outside (read on a socket or pipe, accept, recv,
 * send, poll, epoll_wait, ...) must hold up only their lthread, never the
 * sthread that serves a whole queue pair. An sthread runs such a call only
 * once its file descriptor is ready (a zero-timeout poll says so); until
 * then the request is parked with the one poller thread, which hands it
 * back when the descriptor becomes ready or its timeout passes.
 */
#ifndef SCONE_BLOCKING_H
#define SCONE_BLOCKING_H

#include <scone/queue_abi.h>

struct scone_parked;

/* What an sthread serves: requests taken from its ring, and parked ones
 * handed back by the poller (wake(arg) after each hand-back). */
struct scone_blocking_owner {
	void (*wake)(void *arg);
	void *arg;
	struct scone_parked *_Atomic back;   /* handed back, LIFO */
	const uint64_t *cancel;              /* the pair's cancel words (queue_abi.h), or NULL */
	uint32_t mask;                       /* entries - 1 */
};

/* Serve r for owner: 1 if it ran (*ret is the result), 0 if parked.
 * A call the enclave has cancelled (queue_abi.h "Cancellation") is answered
 * -EINTR, -SCONE_ERESTARTSYS or its progress instead of waiting (again). */
int scone_blocking_run(struct scone_blocking_owner *owner, const struct scone_request *r, long *ret);
/* Take the requests handed back (each to be passed to scone_blocking_retry). */
struct scone_parked *scone_blocking_take(struct scone_blocking_owner *owner);
/* Serve a handed-back request: 1 if it ran (*r and *ret set), 0 if parked
 * again. Always consumes p. */
int scone_blocking_retry(struct scone_blocking_owner *owner, struct scone_parked *p,
			 struct scone_parked **next, struct scone_request *r, long *ret);

/* SCONE_QUEUE_NR_CANCEL: have the poller look at every parked call's
 * cancel word now. */
void scone_blocking_kick(void);

#endif
