/*
 * kmod_test: plays both the enclave and the sthreads against scone.ko
 * inside the QEMU guest (tests/kmod/test_kmod_qemu.py, bench/kmod_bench.py).
 *   kmod_test serve PAIRS REQUESTS PAUSES PAUSE_MS
 *   kmod_test errors
 *   kmod_test die
 *   kmod_test bench kmod|backoff|futex PAIRS IDLE_MS LAT_REPS LAT_IDLE_MS TPUT_MS BACKOFF_MAX_US
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt.h"

static int kt_usage(void)
{
	fprintf(stderr,
		"usage: kmod_test serve PAIRS REQUESTS PAUSES PAUSE_MS\n"
		"       kmod_test errors | die\n"
		"       kmod_test bench kmod|backoff|futex PAIRS IDLE_MS LAT_REPS "
		"LAT_IDLE_MS TPUT_MS BACKOFF_MAX_US\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct kt_bench_opts o = { .spins = 2000 };

	if (argc == 6 && !strcmp(argv[1], "serve"))
		return kt_cmd_serve(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
				    (unsigned int)atoi(argv[5]));
	if (argc == 2 && !strcmp(argv[1], "errors"))
		return kt_cmd_errors();
	if (argc == 2 && !strcmp(argv[1], "die"))
		return kt_cmd_die();
	if (argc == 9 && !strcmp(argv[1], "bench")) {
		o.use_kmod = !strcmp(argv[2], "kmod");
		o.use_futex = !strcmp(argv[2], "futex");
		if (!o.use_kmod && !o.use_futex && strcmp(argv[2], "backoff"))
			return kt_usage();
		o.pairs = atoi(argv[3]);
		o.idle_ms = (unsigned int)atoi(argv[4]);
		o.lat_reps = (unsigned int)atoi(argv[5]);
		o.lat_idle_ms = (unsigned int)atoi(argv[6]);
		o.tput_ms = (unsigned int)atoi(argv[7]);
		o.backoff_max_us = (unsigned int)atoi(argv[8]);
		if (o.pairs < 1 || !o.idle_ms || !o.tput_ms || !o.backoff_max_us)
			return kt_usage();
		return kt_cmd_bench(&o);
	}
	return kt_usage();
}
