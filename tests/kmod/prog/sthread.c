#include "sthread.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "scone_kmod_user.h"

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
	ts.tv_sec = *step_us / 1000000u;
	ts.tv_nsec = (long)(*step_us % 1000000u) * 1000;
	nanosleep(&ts, NULL);
	if (*step_us < st->backoff_max_us)
		*step_us = *step_us * 2 > st->backoff_max_us ?
			st->backoff_max_us : *step_us * 2;
	return 0;
}

static void *kt_sthread_main(void *arg)
{
	struct kt_sthread *st = arg;
	struct scone_request r;
	unsigned int idle = 0, step_us = 1;

	for (;;) {
		if (kt_qp_take_request(st->q, &r)) {
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
		if (st->error)
			return NULL;
	}
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
