/*
 * "bench": what the module changes for an idle server and its next
 * request, measured in the guest and printed as one "KB" line per mode
 * (kmod: sthreads sleep in scone.ko; backoff: nanosleep back-off; futex:
 * the producer wakes them explicitly, which an enclave could only do by
 * exiting -- the reference floor):
 *   idle CPU     whole-system busy time while the server is blocked in
 *                accept (pair 0's sthread inside accept4, the other
 *                sthreads idle; module poller included), percent of a CPU
 *   first request after idle   post-to-response time after lat_idle_ms
 *   throughput   null system calls per second, one producer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

/*
 * One request to a sleeping sthread; returns post-to-response time and
 * sets *wake_ns to post-to-sthread-has-it, as the sthread itself measured
 * (independent of when the producer's CPU gets to look). The producer
 * waits in short sleeps, not spinning: under emulation a spinning vCPU
 * takes the host CPU the sthread's vCPU needs to be woken at all.
 */
static void kb_post(struct kb_rig *r, int p, const struct scone_request *req)
{
	while (!kt_qp_post(&r->q[p], req))
		__builtin_ia32_pause();
	if (r->st[p].futex)
		kt_sthread_kick(&r->q[p]);
}

static uint64_t kb_call(struct kb_rig *r, int p, uint64_t *wake_ns)
{
	struct scone_request req = { .nr = SYS_getppid, .cookie = ++r->cookie };
	struct scone_response rsp;
	uint64_t t;

	r->st[p].wake_lat_ns = 0;
	t = kt_now_ns();
	req.args[5] = (int64_t)t;
	kb_post(r, p, &req);
	while (!kt_qp_take_response(&r->q[p], &rsp))
		kt_sleep_ns(20000);
	t = kt_now_ns() - t;
	*wake_ns = r->st[p].wake_lat_ns;
	return t;
}

/* Posts accept4 on a listening loopback socket: the server's idle state. */
static int kb_accept_begin(struct kb_rig *r, struct sockaddr_in *addr)
{
	struct scone_request req = { .nr = SYS_accept4, .cookie = ++r->cookie };
	socklen_t len = sizeof(*addr);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)addr, sizeof(*addr)) ||
	    listen(s, 1) || getsockname(s, (struct sockaddr *)addr, &len))
		return -1;
	req.args[0] = s;
	kb_post(r, 0, &req);
	return s;
}

/* A client connects; the blocked accept4 returns through the queue. */
static int kb_accept_end(struct kb_rig *r, int s, struct sockaddr_in *addr)
{
	struct scone_response rsp;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int ok = c >= 0 && !connect(c, (struct sockaddr *)addr, sizeof(*addr));

	while (!kt_qp_take_response(&r->q[0], &rsp))
		__builtin_ia32_pause();
	ok = ok && rsp.ret >= 0;
	if (rsp.ret >= 0)
		close((int)rsp.ret);
	close(c);
	close(s);
	return ok ? 0 : -1;
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
			    kt_qp_post(&r->q[p], &req)) {
				posted++;
				if (r->st[p].futex)
					kt_sthread_kick(&r->q[p]);
			}
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
	kt_pin_producer();
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
		r.st[p].cpu = kt_sthread_cpu(p);
		r.st[p].futex = o->use_futex;
		kt_sthread_start(&r.st[p]);
	}

	struct sockaddr_in addr;
	int lsock = kb_accept_begin(&r, &addr);

	if (lsock < 0) {
		perror("kmod_test: loopback listen");
		return 1;
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

	if (kb_accept_end(&r, lsock, &addr)) {
		fprintf(stderr, "kmod_test: accept through the queue failed\n");
		return 1;
	}

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

		kb_post(&r, p, &stop);
		kt_sthread_join(&r.st[p]);
		while (kt_qp_take_response(&r.q[p], &rsp))
			;
	}
	scone_kmod_close(r.fd);
	printf("KB mode=%s pairs=%d idle_ms=%u idle_cpu_pct=%.2f "
	       "idle_proc_cpu_pct=%.2f idle_polls_per_s=%.0f "
	       "lat_after_idle_us_median=%.1f lat_after_idle_us_max=%.1f "
	       "wake_after_idle_us_median=%.1f wake_after_idle_us_max=%.1f "
	       "throughput_per_s=%ld wakeups=%lld backoff_max_us=%u\n",
	       o->use_kmod ? "kmod" : o->use_futex ? "futex" : "backoff", r.n, o->idle_ms, idle_cpu,
	       self_cpu, polls / (o->idle_ms / 1e3),
	       reps ? lat[reps / 2] / 1e3 : 0.0,
	       reps ? lat[reps - 1] / 1e3 : 0.0,
	       reps ? wake[reps / 2] / 1e3 : 0.0,
	       reps ? wake[reps - 1] / 1e3 : 0.0, tput, wakeups,
	       o->use_kmod || o->use_futex ? 0 : o->backoff_max_us);
	fflush(stdout);
	return 0;
}
