/*
 * An sthread: takes requests from its pair, executes the system call,
 * posts the response. When its pair stays empty it spins a little, then
 * either sleeps in scone.ko (fd >= 0) or backs off with nanosleep, the way
 * user-space sthreads do without the module.
 */
#ifndef KT_STHREAD_H
#define KT_STHREAD_H

#include <pthread.h>
#include <stdint.h>

#include "qp.h"

#define KT_NR_STOP (-1)	/* answered, then the sthread leaves */

struct kt_sthread {
	struct kt_qp *q;
	int fd;			/* /dev/scone, or -1 for user-space back-off */
	uint32_t id;		/* pair id in scone.ko */
	unsigned int spins;	/* empty polls before sleeping */
	unsigned int backoff_max_us;
	uint64_t wait_timeout_ns;	/* 0: sleep in the module without limit */
	pthread_t thread;
	/* results, read after join */
	uint64_t served;
	uint64_t sleeps;
	int error;		/* first unexpected -errno from the module */
};

int kt_sthread_start(struct kt_sthread *st);
int kt_sthread_join(struct kt_sthread *st);

#endif
