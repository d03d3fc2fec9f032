"""Start-up time and resident memory: a SIM enclave hello against native musl.

Builds ``samples/hello.c`` twice with scone-gcc: as an enclave binary with a
64 MiB heap (run with ``SCONE_MODE=SIM``) and as a native static musl
executable (``--scone-native``). Each runs ``--runs`` times under a small
static C launcher (so that peak RSS is not the forking Python's: Linux keeps
the pre-exec high-water mark); the figures are the median wall time from fork
to reaped exit and the largest peak RSS (``wait4`` rusage; both include the
launcher's few hundred KiB). Goals (issue 3): time <= 10x native, RSS <= native + 8 MiB (heap
pages that are never used must not be touched). Printed, never asserted.

Run: ``python bench/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "samples" / "hello.c"


def _build(out: Path, *flags: str) -> None:
    argv = ["scone-gcc", "-O2", *flags, str(HELLO), "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"startup: {' '.join(argv)} failed:\n{done.stderr}")


LAUNCH_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int status;
	(void)argc;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	wait4(pid, &status, 0, &ru);
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "\nlaunch: %lld %ld %d\n",
		(long long)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec),
		ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
"""


def _launcher(d: Path) -> Path:
    (d / "launch.c").write_text(LAUNCH_C)
    done = subprocess.run(["gcc", "-O2", "-static", "-o", str(d / "launch"), str(d / "launch.c")],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"startup: cannot build the launcher:\n{done.stderr}")
    return d / "launch"


def _run_once(launch: Path, argv: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds from fork to reaped exit, and peak RSS in KiB."""
    done = subprocess.run([str(launch), *argv], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    head, _, last = done.stderr.rstrip("\n").rpartition("\n")
    ns, rss, status = (int(x) for x in last.split()[1:])
    if status:
        sys.exit(f"startup: {argv[0]} exited {status}:\n{head}")
    return ns / 1e9, rss


def _measure(launch: Path, argv: list[str], env: dict, runs: int) -> tuple[float, int]:
    _run_once(launch, argv, env)  # warm the page cache
    samples = [_run_once(launch, argv, env) for _ in range(runs)]
    return statistics.median(t for t, _ in samples), max(r for _, r in samples)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    env = dict(os.environ, SCONE_MODE="SIM")
    with tempfile.TemporaryDirectory(prefix="scone-bench-") as d:
        enclave, native = Path(d) / "hello-sgx", Path(d) / "hello-native"
        _build(enclave, "--scone-heap=64M")
        _build(native, "--scone-native", "-static")
        launch = _launcher(Path(d))
        t_sgx, rss_sgx = _measure(launch, [str(enclave), "bench"], env, args.runs)
        t_nat, rss_nat = _measure(launch, [str(native), "bench"], env, args.runs)
    ratio = t_sgx / t_nat if t_nat else float("inf")
    extra = (rss_sgx - rss_nat) / 1024
    print(f"start-up  SIM enclave (64 MiB heap): {t_sgx * 1e3:8.2f} ms   "
          f"native musl: {t_nat * 1e3:8.2f} ms   ratio {ratio:6.1f}x   (goal <= 10x)")
    print(f"peak RSS  SIM enclave: {rss_sgx / 1024:8.1f} MiB   native musl: "
          f"{rss_nat / 1024:8.1f} MiB   extra {extra:+6.1f} MiB   (goal <= +8 MiB)")


if __name__ == "__main__":
    main()
