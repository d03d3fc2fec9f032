/*
 * "bench": what the module changes for an idle server and its next
 * request, measured in the guest and printed as one "KB" line per mode:
 *   idle CPU     whole-system busy time while the sthreads have nothing
 *                to do (module poller included), percent of one CPU
 *   first request after idle   post-to-response time after lat_idle_ms
 *   throughput   null system calls per second, one producer
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kt.h"
#include "scone_kmod_user.h"
#include "sthread.h"
#include "util.h"

#define KB_MAX_PAIRS 8
#define KB_ENTRIES 256u

struct kb_rig {
	struct kt_qp q[KB_MAX_PAIRS];
	struct kt_sthread st[KB_MAX_PAIRS];
	int n;
	int fd;
	uint64_t cookie;
};

/* Busy jiffies of all CPUs from the first line of /proc/stat. */
static long long kb_busy_ticks(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	/* user nice system [idle iowait] irq softirq steal */
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

static double kb_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One request; *wake_ns is when its sthread left its sleep (kmod only). */
static uint64_t kb_call(struct kb_rig *r, int p, uint64_t *wake_ns)
{
	struct scone_request req = { .nr = SYS_getppid, .cookie = ++r->cookie };
	struct scone_response rsp;
	uint64_t t = kt_now_ns();
	int sleeping = kt_qp_sthread_state(&r->q[p]) == SCONE_STHREAD_SLEEPING;

	*wake_ns = 0;
	while (!kt_qp_post(&r->q[p], &req))
		__builtin_ia32_pause();
	while (!kt_qp_take_response(&r->q[p], &rsp)) {
		if (sleeping && !*wake_ns &&
		    kt_qp_sthread_state(&r->q[p]) == SCONE_STHREAD_RUNNING)
			*wake_ns = kt_now_ns() - t;
		__builtin_ia32_pause();
	}
	return kt_now_ns() - t;
}

static int kb_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static long kb_throughput(struct kb_rig *r, unsigned int ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)ms * 1000000u;
	struct scone_request req = { .nr = SYS_getppid };
	struct scone_response rsp;
	long done = 0, posted = 0;
	int p;

	while (kt_now_ns() < end) {
		for (p = 0; p < r->n; p++) {
			if (posted - done < (long)KB_ENTRIES / 2 &&
			    kt_qp_post(&r->q[p], &req))
				posted++;
			while (kt_qp_take_response(&r->q[p], &rsp))
				done++;
		}
	}
	while (done < posted)
		for (p = 0; p < r->n; p++)
			while (kt_qp_take_response(&r->q[p], &rsp))
				done++;
	return (long)(done * 1000 / ms);
}

int kt_cmd_bench(const struct kt_bench_opts *o)
{
	static struct kb_rig r;
	uint64_t lat[64], wake[64];
	long long busy0, busy1, w0, p0;
	double self0, ticks = (double)sysconf(_SC_CLK_TCK);
	unsigned int i, reps = o->lat_reps > 64 ? 64 : o->lat_reps;
	char msg[256];
	int p, rc;

	r.n = o->pairs > KB_MAX_PAIRS ? KB_MAX_PAIRS : o->pairs;
	r.fd = -1;
	if (o->use_kmod) {
		r.fd = scone_kmod_open(NULL, SCONE_KMOD_ON);
		if (r.fd < 0) {
			fprintf(stderr, "kmod_test: %s\n",
				scone_kmod_strerror(SCONE_KMOD_OP_OPEN, r.fd,
						    msg, sizeof(msg)));
			return 1;
		}
	}
	for (p = 0; p < r.n; p++) {
		rc = kt_qp_alloc(&r.q[p], KB_ENTRIES);
		if (!rc && r.fd >= 0)
			rc = scone_kmod_register(r.fd, r.q[p].hdr, KB_ENTRIES,
						 &r.st[p].id);
		if (rc) {
			fprintf(stderr, "kmod_test: %s\n",
				scone_kmod_strerror(SCONE_KMOD_OP_REGISTER, rc,
						    msg, sizeof(msg)));
			return 1;
		}
		r.st[p].q = &r.q[p];
		r.st[p].fd = r.fd;
		r.st[p].spins = o->spins;
		r.st[p].backoff_max_us = o->backoff_max_us;
		kt_sthread_start(&r.st[p]);
	}

	/* Let the sthreads reach their deepest sleep before measuring idle. */
	kt_sleep_ns(200000000ull);
	w0 = kt_counter("wakeups");
	p0 = kt_counter("polls");
	busy0 = kb_busy_ticks();
	self0 = kb_self_cpu_s();
	kt_sleep_ns((uint64_t)o->idle_ms * 1000000u);
	busy1 = kb_busy_ticks();
	double idle_cpu = (busy1 - busy0) / ticks / (o->idle_ms / 1e3) * 100;
	double self_cpu = (kb_self_cpu_s() - self0) / (o->idle_ms / 1e3) * 100;
	long long polls = o->use_kmod ? kt_counter("polls") - p0 : 0;

	for (i = 0; i < reps; i++) {
		kt_sleep_ns((uint64_t)o->lat_idle_ms * 1000000u);
		lat[i] = kb_call(&r, i % r.n, &wake[i]);
	}
	qsort(lat, reps, sizeof(lat[0]), kb_cmp);
	qsort(wake, reps, sizeof(wake[0]), kb_cmp);
	long tput = kb_throughput(&r, o->tput_ms);
	long long wakeups = o->use_kmod ? kt_counter("wakeups") - w0 : 0;

	for (p = 0; p < r.n; p++) {
		struct scone_request stop = { .nr = KT_NR_STOP };
		struct scone_response rsp;

		while (!kt_qp_post(&r.q[p], &stop))
			__builtin_ia32_pause();
		kt_sthread_join(&r.st[p]);
		while (kt_qp_take_response(&r.q[p], &rsp))
			;
	}
	scone_kmod_close(r.fd);
	printf("KB mode=%s pairs=%d idle_ms=%u idle_cpu_pct=%.2f "
	       "idle_proc_cpu_pct=%.2f idle_polls_per_s=%.0f "
	       "lat_after_idle_us_median=%.1f lat_after_idle_us_max=%.1f "
	       "wake_after_idle_us_median=%.1f "
	       "throughput_per_s=%ld wakeups=%lld backoff_max_us=%u\n",
	       o->use_kmod ? "kmod" : "backoff", r.n, o->idle_ms, idle_cpu,
	       self_cpu, polls / (o->idle_ms / 1e3),
	       reps ? lat[reps / 2] / 1e3 : 0.0,
	       reps ? lat[reps - 1] / 1e3 : 0.0,
	       reps ? wake[reps / 2] / 1e3 : 0.0, tput, wakeups,
	       o->use_kmod ? 0 : o->backoff_max_us);
	fflush(stdout);
	return 0;
}
