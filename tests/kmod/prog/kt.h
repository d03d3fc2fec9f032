/* The sub-commands of kmod_test, each in its own file. */
#ifndef KT_H
#define KT_H

int kt_cmd_serve(int npairs, int nreq, int pauses, unsigned int pause_ms);
int kt_cmd_errors(void);
int kt_cmd_die(void);

struct kt_bench_opts {
	int use_kmod;
	int use_futex;		/* without the module: futex wake, not back-off */
	int pairs;
	unsigned int spins;
	unsigned int backoff_max_us;
	unsigned int idle_ms;
	unsigned int lat_reps;
	unsigned int lat_idle_ms;
	unsigned int tput_ms;
};

int kt_cmd_bench(const struct kt_bench_opts *o);

#endif
