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
	int futex;		/* fd < 0: sleep on a futex instead of backing off */
	uint32_t id;		/* pair id in scone.ko */
	unsigned int spins;	/* empty polls before sleeping */
	unsigned int backoff_max_us;
	uint64_t wait_timeout_ns;	/* 0: sleep in the module without limit */
	int cpu;		/* CPU to run on, or -1 for any */
	pthread_t thread;
	/* results, read after join */
	uint64_t served;
	uint64_t sleeps;
	/*
	 * For the first request taken after a sleep: now minus the post time
	 * the producer put in args[5] (0 = none); written before the response
	 * is posted, so the producer may read it once it has the response.
	 */
	uint64_t wake_lat_ns;
	int error;		/* first unexpected -errno from the module */
};

int kt_sthread_start(struct kt_sthread *st);

/*
 * The producer's side of the futex mode: after posting, wake the sthread
 * if it sleeps. This is the explicit wake-up an enclave thread could only
 * do by leaving the enclave; the benchmark shows it as the floor.
 */
void kt_sthread_kick(struct kt_qp *q);

/*
 * Producer on CPU 0, sthreads on the others, as an enclave thread and its
 * sthreads run on separate cores; with one CPU nothing is pinned. Returns
 * the CPU for sthread i (or -1) after pinning the caller.
 */
int kt_pin_producer(void);
int kt_sthread_cpu(int i);
int kt_sthread_join(struct kt_sthread *st);

#endif
