/*
 * SCONE_SYSCALL, SCONE_QUEUES, SCONE_SLOTS, SCONE_STHREADS, SCONE_SSPINS,
 * SCONE_SSLEEP, SCONE_ESPINS, SCONE_KMOD, SCONE_ETHREADS: names and defaults after SCONE's
 * (4 queues of 256 slots, 100 sthread spins, 4000 back-off, 10000 ethread
 * spins). Every queue pair is served by exactly one sthread, so
 * SCONE_STHREADS and SCONE_QUEUES name the same number.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <scone/queue_abi.h>
#include "scone_kmod_user.h"

#include "knobs.h"

static int number(const char *name, uint32_t def, uint32_t lo, uint32_t hi, uint32_t *out,
		  int *given, char *err, size_t errlen)
{
	const char *v = getenv(name);
	*out = def;
	if (given)
		*given = 0;
	if (!v || !*v)
		return 0;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || *v == '-' || n < lo || n > hi) {
		snprintf(err, errlen, "%s=%s: expected a number from %u to %u", name, v, lo, hi);
		return -1;
	}
	*out = (uint32_t)n;
	if (given)
		*given = 1;
	return 0;
}

int scone_knobs_parse(struct scone_knobs *k, uint32_t tcs, char *err, size_t errlen)
{
	/* The CPUs this process may run on (taskset, cpusets), in one system
	 * call where sysconf reads a sysfs file. */
	cpu_set_t set;
	int cpus = sched_getaffinity(0, sizeof set, &set) ? 1 : CPU_COUNT(&set);
	uint32_t def = cpus < 1 ? 1 : (uint32_t)cpus;
	if (def > tcs)
		def = tcs;
	if (number("SCONE_ETHREADS", def, 1, tcs, &k->ethreads, NULL, err, errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err) > 0 ? errlen - strlen(err) : 0,
			 " (the enclave was signed with %u TCS: sign with a larger --scone-tcs for more)", tcs);
		return -1;
	}
	const char *sc = getenv("SCONE_SYSCALL");
	k->adaptive = 0;
	if (!sc || !*sc || !strcasecmp(sc, "async"))
		k->async = 1;
	else if (!strcasecmp(sc, "sync"))
		k->async = 0;
	else if (!strcasecmp(sc, "adaptive"))
		k->async = k->adaptive = 1;
	else {
		snprintf(err, errlen, "SCONE_SYSCALL=%s: expected async (queues served by sthreads, the default), sync (the enclave exits for each system call) or adaptive (a short call exits when no sthread is awake and no lthread can run)", sc);
		return -1;
	}
	uint32_t st;
	int q_given, st_given;
	if (number("SCONE_QUEUES", 4, 1, SCONE_QUEUES_MAX, &k->queues, &q_given, err, errlen) ||
	    number("SCONE_STHREADS", 4, 1, SCONE_QUEUES_MAX, &st, &st_given, err, errlen) ||
	    number("SCONE_SLOTS", 256, 2, SCONE_SLOTS_MAX, &k->slots, NULL, err, errlen) ||
	    number("SCONE_SSPINS", 100, 0, 1u << 30, &k->sspins, NULL, err, errlen) ||
	    number("SCONE_SSLEEP", 4000, 0, 10000000, &k->ssleep_us, NULL, err, errlen) ||
	    number("SCONE_ESPINS", 10000, 0, 1u << 30, &k->espins, NULL, err, errlen))
		return -1;
	if (k->slots & (k->slots - 1)) {
		snprintf(err, errlen, "SCONE_SLOTS=%u: expected a power of two", k->slots);
		return -1;
	}
	if (q_given && st_given && st != k->queues) {
		snprintf(err, errlen, "SCONE_STHREADS=%u and SCONE_QUEUES=%u differ: each queue pair has its own sthread; set one of them", st, k->queues);
		return -1;
	}
	if (st_given)
		k->queues = st;
	enum scone_kmod_mode mode;
	if (scone_kmod_parse_mode(getenv("SCONE_KMOD"), &mode)) {
		snprintf(err, errlen, "SCONE_KMOD=%s: expected auto, on or off", getenv("SCONE_KMOD"));
		return -1;
	}
	k->kmod_mode = mode;
	return 0;
}
