/*
 * SCONE_SYSCALL=adaptive (DESIGN.md §5 "Choosing queue or exit"): per call,
 * post to a queue or exit. Any call while another lthread could run here
 * goes by the queue; a call that may block stays parked outside too,
 * unless nothing else in the enclave could make progress meanwhile; a
 * short call otherwise takes whichever path has cost less lately: the
 * queue's round trip (with an sthread awake or asleep: two estimates) or
 * the exit's (which SIM prices at SCONE_SIM_EXIT_CYCLES).
 *
 * The estimates are TSC cycles, read only where RDTSC may run inside (an
 * SGX2 CPU; SIM's sgx2 and lax profiles): under SGX1 it raises #UD, so
 * there a short call always exits. A
 * host that skews the TSC only steers this choice, never a result.
 */
#include "../sched/scone_sched.h"
#include "client.h"

/* Now and then the dearer path, so that a stale estimate recovers; the
 * dearer it is, the rarer: a probe costs about 1/PROBE_EVERY of the
 * cheaper path's cost per call, however slow the other path (an sthread
 * that a loaded host takes a millisecond to schedule). */
#define PROBE_EVERY 64
#define PROBE_RARELY (1u << 20)
#define EWMA_SHIFT 3            /* weight 1/8 to the newest sample */

enum { EST_EXIT, EST_QUEUE_AWAKE, EST_QUEUE_ASLEEP, EST_N };
static uint64_t est[EST_N];

uint64_t __scone_rdtsc(void) SCONE_HIDDEN;   /* clock.c */

uint64_t __scone_adapt_now(void)
{
	return __scone_client.tsc ? __scone_rdtsc() : 0;
}

/* Calls that may wait for someone else (a peer, a child, a timer): an
 * ethread blocked outside runs nobody, so they exit only when nobody else
 * could run (__scone_adapt_choose). */
static int may_block(long nr, const long a[6])
{
	switch (nr) {
	case 1:   /* write: a full pipe or socket waits for its reader, */
	case 20:  /* writev: maybe an lthread of this very enclave */
	case 44:  /* sendto */
	case 46:  /* sendmsg */
	case 307: /* sendmmsg */
	case 40:  /* sendfile */
	case 0:   /* read */
	case 19:  /* readv */
	case 45:  /* recvfrom */
	case 47:  /* recvmsg */
	case 299: /* recvmmsg */
	case 43:  /* accept */
	case 288: /* accept4 */
	case 42:  /* connect */
	case 23:  /* select */
	case 270: /* pselect6 */
	case 271: /* ppoll */
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
	case 61:  /* wait4 */
	case 247: /* waitid */
	case 34:  /* pause */
	case 130: /* rt_sigsuspend */
	case 128: /* rt_sigtimedwait */
	case 202: /* futex */
	case 65:  /* semop */
	case 220: /* semtimedop */
	case 70:  /* msgrcv */
	case 69:  /* msgsnd */
	case 73:  /* flock */
	case 208: /* io_getevents */
	case 243: /* mq_timedreceive */
	case 242: /* mq_timedsend */
	case 275: /* splice */
	case 276: /* tee */
	case 2:   /* open: a FIFO waits for its peer */
	case 257: /* openat */
		return 1;
	case 7:   /* poll: timeout 0 is a look, not a wait */
		return a[2] != 0;
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
		return a[3] != 0;
	case 72:  /* fcntl: F_SETLKW, F_OFD_SETLKW */
		return a[1] == 7 || a[1] == 38;
	default:
		return 0;
	}
}

static int sthread_awake(const struct scone_client *c)
{
	for (uint32_t q = 0; q < c->queues; q++)
		if (__atomic_load_n(&c->pairs[q].qp->sthread_state.value, __ATOMIC_RELAXED) == SCONE_STHREAD_RUNNING)
			return 1;
	return 0;
}

int __scone_adapt_choose(long nr, const long a[6])
{
	struct scone_client *c = &__scone_client;
	if (__scone_on_lthread() && __scone_sched_others_ready())
		return SCONE_ADAPT_QUEUE;
	if (may_block(nr, a)) {
		/* Blocking outside holds up nobody when nothing else could run
		 * until this call returns: no lthread runnable, no timer, no
		 * call of another lthread in the queues (single-threaded
		 * servers: redis in epoll_wait). Else it stays parked outside. */
		if (__scone_sched_quiet() &&
		    atomic_load(&c->posted) == atomic_load(&c->harvested))
			return SCONE_ADAPT_EXIT_BLOCKING;
		return SCONE_ADAPT_QUEUE;
	}
	/* No clock to compare with: an sthread counted awake may be napping
	 * or waiting for a CPU (a loaded host), which costs far more than an
	 * exit, so the exit. */
	if (!c->tsc)
		return SCONE_ADAPT_EXIT;
	int awake = c->kmod || sthread_awake(c);
	uint64_t x = __atomic_load_n(&est[EST_EXIT], __ATOMIC_RELAXED);
	uint64_t q = __atomic_load_n(&est[awake ? EST_QUEUE_AWAKE : EST_QUEUE_ASLEEP], __ATOMIC_RELAXED);
	int exit = x <= q;
	uint64_t lo = exit ? x : q, hi = exit ? q : x;
	uint64_t every = lo && hi / lo < PROBE_RARELY / PROBE_EVERY ? hi / lo * PROBE_EVERY : PROBE_RARELY;
	if (every < PROBE_EVERY)
		every = PROBE_EVERY;
	if (atomic_fetch_add_explicit(&c->probes, 1, memory_order_relaxed) % every == every - 1)
		exit = !exit;
	if (exit)
		return SCONE_ADAPT_EXIT;
	return awake ? SCONE_ADAPT_QUEUE_AWAKE : SCONE_ADAPT_QUEUE_ASLEEP;
}

void __scone_adapt_note(int how, uint64_t t0)
{
	if (how == SCONE_ADAPT_QUEUE || how == SCONE_ADAPT_EXIT_BLOCKING || !t0)
		return;
	uint64_t dt = __scone_adapt_now() - t0;
	int i = how == SCONE_ADAPT_EXIT ? EST_EXIT : how == SCONE_ADAPT_QUEUE_AWAKE ? EST_QUEUE_AWAKE : EST_QUEUE_ASLEEP;
	/* Racy on purpose: a lost update of an estimate costs nothing. */
	uint64_t e = __atomic_load_n(&est[i], __ATOMIC_RELAXED);
	e = e ? e - (e >> EWMA_SHIFT) + (dt >> EWMA_SHIFT) : dt;
	__atomic_store_n(&est[i], e, __ATOMIC_RELAXED);
}

void __scone_client_report(void)
{
	struct scone_client *c = &__scone_client;
	if (__scone_rt.log_level < SCONE_LOG_INFO || !c->ready)
		return;
	__scone_log(SCONE_LOG_INFO, "external calls: %lu by a queue, %lu by an exit, %lu sthread wake-ups",
		    (unsigned long)atomic_load(&c->by_queue), (unsigned long)atomic_load(&c->by_exit),
		    (unsigned long)atomic_load(&c->woken));
	if (c->adaptive && c->tsc)
		__scone_log(SCONE_LOG_INFO, "adaptive estimates (TSC cycles): exit %lu, queue with an sthread awake %lu, asleep %lu",
			    (unsigned long)est[EST_EXIT], (unsigned long)est[EST_QUEUE_AWAKE],
			    (unsigned long)est[EST_QUEUE_ASLEEP]);
}
