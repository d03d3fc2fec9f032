"""Latency of one null external system call (getppid), issue 4.

One C program makes ``--calls`` getppid calls in a loop and prints the mean
time per call. It is built three ways and run five: native (host gcc and
glibc: the real ``syscall`` instruction), native musl (``--scone-native``:
the same call through musl's hook), and one enclave binary run in SIM with
``SCONE_SYSCALL=sync`` and ``SCONE_SIM_EXIT_CYCLES`` 0 and 8000 (the
paper's cost of an exit and re-entry), and with ``SCONE_SYSCALL=async``
(the default: queues and sthreads; an idle ethread's sleep priced at
8000 cycles too), and with ``SCONE_SYSCALL=adaptive`` (queue or exit per
call, from measured costs) at 0 and 8000 cycles. Runs are interleaved, the best of
``--runs`` is kept (2 shared cores: noise only ever adds), and ratios to
native are printed. Goal: async <= 2x native; a bare cross-thread hand-off
costs about 1.4x here. Printed, never asserted.

Run: ``python bench/syscall_latency.py [--calls N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import variants

PROG = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct timespec a, b;
	long sink = 0;
	for (long i = 0; i < n / 10; i++)       /* warm up: sthreads spinning, caches hot */
		sink += getppid();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		sink += getppid();
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
	printf("%.1f %ld\n", ns, sink > 0);
	return 0;
}
"""

# The floor of any queue: the same call handed to a spinning thread and back.
HANDOFF = r"""
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static _Atomic long req, rsp;
static void *server(void *arg)
{
	(void)arg;
	for (long seen = 0;;) {
		long r;
		while ((r = atomic_load_explicit(&req, memory_order_acquire)) == seen)
			__builtin_ia32_pause();
		seen = r;
		getppid();
		atomic_store_explicit(&rsp, r, memory_order_release);
	}
	return NULL;
}
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	pthread_t t;
	pthread_create(&t, NULL, server, NULL);
	struct timespec a, b;
	for (long i = 1; i <= n + n / 10; i++) {
		if (i == n / 10 + 1)
			clock_gettime(CLOCK_MONOTONIC, &a);
		atomic_store_explicit(&req, i, memory_order_release);
		while (atomic_load_explicit(&rsp, memory_order_acquire) != i)
			__builtin_ia32_pause();
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
"""

CONFIGS = (
    ("native (glibc)", "glibc", {}),
    ("bare hand-off (glibc)", "handoff", {}),
    ("native musl", "musl", {}),
    ("SIM sync, exit 0 cycles", "enclave", {"SCONE_SYSCALL": "sync", "SCONE_SIM_EXIT_CYCLES": "0"}),
    ("SIM sync, exit 8000 cycles", "enclave", {"SCONE_SYSCALL": "sync", "SCONE_SIM_EXIT_CYCLES": "8000"}),
    ("SIM async", "enclave", {"SCONE_SYSCALL": "async", "SCONE_SIM_EXIT_CYCLES": "8000"}),
    ("SIM adaptive, exit 0 cycles", "enclave", {"SCONE_SYSCALL": "adaptive", "SCONE_SIM_EXIT_CYCLES": "0"}),
    ("SIM adaptive, exit 8000", "enclave", {"SCONE_SYSCALL": "adaptive", "SCONE_SIM_EXIT_CYCLES": "8000"}),
)


def _build(tmp: Path) -> dict:
    src = tmp / "getppid.c"
    src.write_text(PROG)
    out = {}
    (tmp / "handoff.c").write_text(HANDOFF)
    done = subprocess.run(["gcc", "-O2", "-pthread", str(tmp / "handoff.c"), "-o", str(tmp / "handoff")],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"syscall_latency: building the hand-off baseline failed:\n{done.stderr}")
    out["handoff"] = tmp / "handoff"
    out.update(variants.build("syscall_latency", src, tmp))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        exes = _build(Path(d))
        best = variants.best_of("syscall_latency", CONFIGS, exes, args.runs, args.calls)
    base = best[CONFIGS[0][0]]
    print(f"getppid latency, best of {args.runs} runs of {args.calls} calls (ns per call; ratio to native)")
    for name, _, _ in CONFIGS:
        print(f"  {name:28s} {best[name]:9.1f} ns  {best[name] / base:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
