"""External-call throughput with 1, 4, 16 and 64 threads (issue 5).

One C program starts T pthreads that together make ``--calls`` getppid
calls (each its share) and prints calls per second. It is built as a host
gcc/glibc binary (native: the real ``syscall`` instruction on T kernel
threads), as native musl (``--scone-native``), and as one enclave binary run
in SIM with ``SCONE_SYSCALL=sync`` at ``SCONE_SIM_EXIT_CYCLES`` 0 and 8000,
and with ``SCONE_SYSCALL=async`` (T lthreads on the default ethreads, the
calls posted to the queues and run by the sthreads). Runs are interleaved,
the best of ``--runs`` kept (2 shared cores: noise only ever subtracts),
and ratios to native printed. Goals: async >= 0.9x native with many
lthreads; async beats sync at 8000 exit cycles. Printed, never asserted.

Run: ``python bench/threads_throughput.py [--calls N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROG = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static long per;
static pthread_barrier_t start;
static double first = 1e30, last;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
/* Each thread times itself: with cooperative lthreads, main may run only
 * after every worker is done. The span is first start to last end. */
static void *worker(void *arg)
{
	long sink = 0;
	(void)arg;
	pthread_barrier_wait(&start);
	double a = now();
	for (long i = 0; i < per; i++)
		sink += getppid();
	double b = now();
	pthread_mutex_lock(&mu);
	if (a < first)
		first = a;
	if (b > last)
		last = b;
	pthread_mutex_unlock(&mu);
	return (void *)(sink > 0);
}
int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	int t = atoi(argv[2]);
	per = n / t;
	pthread_t th[256];
	pthread_barrier_init(&start, NULL, t);
	for (int i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, worker, NULL))
			return 1;
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	printf("%.0f\n", per * t / (last - first));
	return 0;
}
"""

THREADS = (1, 4, 16, 64)
CONFIGS = (
    ("native (glibc)", "glibc", {}),
    ("native musl", "musl", {}),
    ("SIM sync, exit 0", "enclave", {"SCONE_SYSCALL": "sync", "SCONE_SIM_EXIT_CYCLES": "0"}),
    ("SIM sync, exit 8000", "enclave", {"SCONE_SYSCALL": "sync", "SCONE_SIM_EXIT_CYCLES": "8000"}),
    ("SIM async", "enclave", {"SCONE_SYSCALL": "async"}),
)


def _build(tmp: Path) -> dict:
    src = tmp / "calls.c"
    src.write_text(PROG)
    out = {}
    for kind, argv in (("glibc", ["gcc", "-O2", "-pthread"]), ("musl", ["scone-gcc", "-O2", "--scone-native"]),
                       ("enclave", ["scone-gcc", "-O2"])):
        exe = tmp / kind
        done = subprocess.run([*argv, str(src), "-o", str(exe)], capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"threads_throughput: building the {kind} variant failed:\n{done.stderr}")
        out[kind] = exe
    return out


def _run(exe: Path, env: dict, calls: int, threads: int) -> float:
    e = dict(os.environ, SCONE_MODE="SIM", **env)
    done = subprocess.run([str(exe), str(calls), str(threads)], env=e, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        sys.exit(f"threads_throughput: {exe.name} with {threads} threads failed: {done.stderr.strip()}")
    return float(done.stdout.split()[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=400000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        exes = _build(Path(d))
        best = {(name, t): 0.0 for name, _, _ in CONFIGS for t in THREADS}
        for _ in range(args.runs):
            for t in THREADS:
                for name, kind, env in CONFIGS:
                    best[name, t] = max(best[name, t], _run(exes[kind], env, args.calls, t))
    print(f"getppid throughput, best of {args.runs} runs of {args.calls} calls "
          f"(thousand calls/s; ratio to native glibc with as many threads)")
    print(f"  {'':22s}" + "".join(f"{t:>8d} thr        " for t in THREADS))
    for name, _, _ in CONFIGS:
        row = "".join(f"{best[name, t] / 1e3:9.0f} {best[name, t] / best[CONFIGS[0][0], t]:5.2f}x    "
                      for t in THREADS)
        print(f"  {name:22s}{row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
