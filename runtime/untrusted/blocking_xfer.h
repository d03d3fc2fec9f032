/*
 * Reads and writes that may wait on their descriptor (read, readv, recv*,
 * accept, write, writev, send*), attempted without blocking the sthread
 * (blocking.h): the caller parks the call while an attempt would block and
 * tries again when the poller hands it back.
 */
#ifndef SCONE_BLOCKING_XFER_H
#define SCONE_BLOCKING_XFER_H

#include <stdint.h>

#include <scone/queue_abi.h>

/* POLLIN or POLLOUT for such a call, 0 for any other. */
short scone_xfer_events(int64_t nr);

/*
 * One attempt at what is left of r, never blocking on a descriptor the
 * program made blocking. *done is the progress kept across attempts (bytes
 * written, or messages of recvmmsg/sendmmsg): a blocking write returns only
 * once everything is written, as POSIX asks of blocking pipes and Linux
 * does for stream sockets. 1: finished, *ret is the result for the program;
 * 0: it would block, park it and attempt again when the descriptor is ready.
 */
int scone_xfer_attempt(const struct scone_request *r, int64_t *done, long *ret);

/* What is left of r, blocking: the last resort when nothing can be parked. */
long scone_xfer_blocking(const struct scone_request *r, int64_t done);

/* A socket's SO_RCVTIMEO or SO_SNDTIMEO for r in ns, 0 if none. */
int64_t scone_xfer_timeout(const struct scone_request *r);

#endif
