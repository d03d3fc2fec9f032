#define _GNU_SOURCE
#include "sthread.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "scone_kmod_user.h"
#include "util.h"

static void kt_execute(struct kt_qp *q, const struct scone_request *r)
{
	struct scone_response rsp = { .cookie = r->cookie };

	if (r->nr != KT_NR_STOP)
		rsp.ret = syscall(r->nr, r->args[0], r->args[1], r->args[2],
				  r->args[3], r->args[4], r->args[5]);
	kt_qp_post_response(q, &rsp);
}

/* The sleep of an sthread whose pair stayed empty; 0 to go on. */
static int kt_sleep(struct kt_sthread *st, unsigned int *step_us)
{
	struct timespec ts;
	int rc;

	st->sleeps++;
	if (st->fd >= 0) {
		rc = scone_kmod_wait(st->fd, st->id, st->wait_timeout_ns);
		if (rc == 0 || rc == -ETIMEDOUT || rc == -EINTR)
			return 0;
		return rc;
	}
	if (st->futex) {
		uint32_t *state = &st->q->hdr->sthread_state.value;

		__atomic_store_n(state, SCONE_STHREAD_SLEEPING, __ATOMIC_SEQ_CST);
		if (!kt_qp_request_pending(st->q))
			syscall(SYS_futex, state, FUTEX_WAIT, SCONE_STHREAD_SLEEPING,
				NULL, NULL, 0);
		__atomic_store_n(state, SCONE_STHREAD_RUNNING, __ATOMIC_RELEASE);
		return 0;
	}
	ts.tv_sec = *step_us / 1000000u;
	ts.tv_nsec = (long)(*step_us % 1000000u) * 1000;
	nanosleep(&ts, NULL);
	if (*step_us < st->backoff_max_us)
		*step_us = *step_us * 2 > st->backoff_max_us ?
			st->backoff_max_us : *step_us * 2;
	return 0;
}

static void kt_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int kt_pin_producer(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return -1;
	kt_pin(0);
	return 0;
}

int kt_sthread_cpu(int i)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? -1 : 1 + i % (int)(n - 1);
}

static void *kt_sthread_main(void *arg)
{
	struct kt_sthread *st = arg;
	struct scone_request r;
	unsigned int idle = 0, step_us = 1;
	int after_sleep = 0;

	if (st->cpu >= 0)
		kt_pin(st->cpu);

	for (;;) {
		if (kt_qp_take_request(st->q, &r)) {
			if (after_sleep && r.args[5] > 0)
				st->wake_lat_ns = kt_now_ns() - (uint64_t)r.args[5];
			after_sleep = 0;
			kt_execute(st->q, &r);
			if (r.nr == KT_NR_STOP)
				return NULL;
			st->served++;
			idle = 0;
			step_us = 1;
			continue;
		}
		if (++idle < st->spins) {
			__builtin_ia32_pause();
			continue;
		}
		idle = 0;
		st->error = kt_sleep(st, &step_us);
		after_sleep = 1;
		if (st->error)
			return NULL;
	}
}

void kt_sthread_kick(struct kt_qp *q)
{
	uint32_t *state = &q->hdr->sthread_state.value;

	/* seq_cst pairs with the sthread's: one of the two sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(state, __ATOMIC_SEQ_CST) == SCONE_STHREAD_SLEEPING)
		syscall(SYS_futex, state, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int kt_sthread_start(struct kt_sthread *st)
{
	st->served = st->sleeps = 0;
	st->error = 0;
	return -pthread_create(&st->thread, NULL, kt_sthread_main, st);
}

int kt_sthread_join(struct kt_sthread *st)
{
	pthread_join(st->thread, NULL);
	return st->error;
}
