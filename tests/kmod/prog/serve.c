/*
 * "serve": many real system calls through the queues with the sthreads
 * sleeping in scone.ko between bursts. Checks that every request is
 * answered in order with the right result (a missed wake-up shows as a
 * request never answered: the sthreads wait without timeout), that the
 * sthreads really sleep (sthread_state SLEEPING while idle), and that the
 * module's counters agree with what was posted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kt.h"
#include "scone_kmod_user.h"
#include "sthread.h"
#include "util.h"

#define KT_ENTRIES 64u
#define KT_MAX_PAIRS 16
#define KT_ANSWER_NS 5000000000ull	/* a missed wake-up, not slowness */

struct kt_serve {
	struct kt_qp q[KT_MAX_PAIRS];
	struct kt_sthread st[KT_MAX_PAIRS];
	uint64_t posted[KT_MAX_PAIRS];
	uint64_t answered[KT_MAX_PAIRS];
	int npairs;
	long parent;
	int bad;
};

static void kt_post(struct kt_serve *s, int p, int64_t nr)
{
	struct scone_request r = { .nr = nr };

	r.cookie = ((uint64_t)p << 32) | s->posted[p];
	while (!kt_qp_post(&s->q[p], &r))
		__builtin_ia32_pause();
	s->posted[p]++;
}

/* Collects every outstanding response; 0, or -ETIMEDOUT if one never comes. */
static int kt_collect(struct kt_serve *s)
{
	uint64_t deadline = kt_now_ns() + KT_ANSWER_NS;
	struct scone_response rsp;
	int p, missing;

	do {
		missing = 0;
		for (p = 0; p < s->npairs; p++) {
			while (kt_qp_take_response(&s->q[p], &rsp)) {
				uint64_t want = ((uint64_t)p << 32) | s->answered[p];

				if (rsp.cookie != want ||
				    (rsp.ret != s->parent && rsp.ret != 0))
					s->bad++;
				s->answered[p]++;
			}
			missing += s->answered[p] != s->posted[p];
		}
		if (!missing)
			return 0;
		__builtin_ia32_pause();
	} while (kt_now_ns() < deadline);
	return -ETIMEDOUT;
}

static int kt_all_sleeping(struct kt_serve *s)
{
	int p;

	for (p = 0; p < s->npairs; p++)
		if (kt_qp_sthread_state(&s->q[p]) != SCONE_STHREAD_SLEEPING)
			return 0;
	return 1;
}

int kt_cmd_serve(int npairs, int nreq, int pauses, unsigned int pause_ms)
{
	static struct kt_serve s;
	long long w0 = kt_counter("wakeups"), r0 = kt_counter("requests_seen");
	long long pairs0 = kt_counter("pairs"), pin0 = kt_counter("pinned_pages");
	uint64_t lat_max = 0, lat_sum = 0, t;
	int fd, p, i, rc, asleep = 0, sent = 0, per_burst;
	char msg[256];

	if (npairs > KT_MAX_PAIRS)
		npairs = KT_MAX_PAIRS;
	s.npairs = npairs;
	kt_pin_producer();
	s.parent = getppid();
	fd = scone_kmod_open(NULL, SCONE_KMOD_ON);
	kt_check(fd >= 0, "serve_open", "%s",
		 fd < 0 ? scone_kmod_strerror(SCONE_KMOD_OP_OPEN, fd, msg,
					      sizeof(msg)) : "");
	if (fd < 0)
		return 1;
	for (p = 0; p < npairs; p++) {
		rc = kt_qp_alloc(&s.q[p], KT_ENTRIES);
		if (!rc)
			rc = scone_kmod_register(fd, s.q[p].hdr, KT_ENTRIES,
						 &s.st[p].id);
		if (rc) {
			kt_check(0, "serve_register", "%s",
				 scone_kmod_strerror(SCONE_KMOD_OP_REGISTER, rc,
						     msg, sizeof(msg)));
			return 1;
		}
	}
	kt_check(kt_counter("pairs") - pairs0 == npairs, "serve_register",
		 "pairs=%d pinned_pages=%lld", npairs,
		 kt_counter("pinned_pages") - pin0);

	for (p = 0; p < npairs; p++) {
		s.st[p].q = &s.q[p];
		s.st[p].fd = fd;
		s.st[p].spins = 2000;
		s.st[p].wait_timeout_ns = 0;
		s.st[p].cpu = kt_sthread_cpu(p);
		kt_sthread_start(&s.st[p]);
	}

	per_burst = nreq / (pauses + 1);
	for (i = 0; i <= pauses; i++) {
		if (i > 0) {
			kt_sleep_ns((uint64_t)pause_ms * 1000000u);
			asleep += kt_all_sleeping(&s);
			/* first request after idle: the poller must wake its sthread */
			t = kt_now_ns();
			kt_post(&s, i % npairs, SYS_getppid);
			sent++;
			if (kt_collect(&s))
				break;
			t = kt_now_ns() - t;
			lat_sum += t;
			lat_max = t > lat_max ? t : lat_max;
		}
		while (sent < (i == pauses ? nreq : per_burst * (i + 1))) {
			kt_post(&s, sent % npairs, SYS_getppid);
			if (++sent % (3 * npairs) == 0 && kt_collect(&s))
				break;
		}
		if (kt_collect(&s))
			break;
	}
	rc = kt_collect(&s);
	kt_check(rc == 0 && sent >= nreq, "serve_answered",
		 "sent=%d wanted=%d bad=%d", sent, nreq, s.bad);
	kt_check(s.bad == 0, "serve_results", "bad=%d", s.bad);
	kt_check(asleep == pauses, "serve_sleeping",
		 "pauses=%d all_sthreads_sleeping=%d", pauses, asleep);
	if (pauses)
		printf("KT serve_latency_after_idle mean_us=%.1f max_us=%.1f\n",
		       lat_sum / 1e3 / pauses, lat_max / 1e3);
	if (rc) {
		/* A sthread never woke: leave it asleep; exiting releases all. */
		kt_check(0, "serve_sthreads", "not joined: a request was never answered");
		return 1;
	}

	for (p = 0; p < npairs; p++)
		kt_post(&s, p, KT_NR_STOP);
	kt_collect(&s);
	uint64_t served = 0;
	int errors = 0;

	for (p = 0; p < npairs; p++) {
		errors += kt_sthread_join(&s.st[p]) != 0;
		served += s.st[p].served;
	}
	kt_check(served == (uint64_t)sent && errors == 0, "serve_sthreads",
		 "served=%llu errors=%d", (unsigned long long)served, errors);

	for (p = 0; p < npairs; p++)
		rc |= scone_kmod_unregister(fd, s.st[p].id);
	long long wakeups = kt_counter("wakeups") - w0;
	long long seen = kt_counter("requests_seen") - r0;

	kt_check(rc == 0 && kt_counter("pairs") == pairs0 &&
		 kt_counter("pinned_pages") == pin0, "serve_unregister",
		 "pairs=%lld pinned_pages=%lld", kt_counter("pairs"),
		 kt_counter("pinned_pages"));
	kt_check(seen == sent + npairs, "serve_requests_seen",
		 "requests_seen=%lld posted=%d", seen, sent + npairs);
	kt_check(wakeups >= pauses, "serve_wakeups", "wakeups=%lld pauses=%d",
		 wakeups, pauses);
	scone_kmod_close(fd);
	for (p = 0; p < npairs; p++)
		kt_qp_free(&s.q[p]);
	return kt_failures != 0;
}
