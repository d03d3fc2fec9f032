"""Start-up time and resident memory: a SIM enclave hello against native musl.

Builds ``samples/hello.c`` twice with scone-gcc: as an enclave binary with a
64 MiB heap (run with ``SCONE_MODE=SIM``) and as a native static musl
executable (``--scone-native``). Each runs ``--runs`` times under a small
static C launcher (so that peak RSS is not the forking Python's: Linux keeps
the pre-exec high-water mark), the two alternating so that load from other
processes hits both alike. The figures are the best and the median wall time
from fork to reaped exit, their ratios, and the largest peak RSS (``wait4``
rusage; both include the launcher's few hundred KiB). Goals (issue 3): time
<= 10x native (best of N), RSS <= native + 8 MiB (heap pages that are never
used must not be touched). Printed, never asserted. ``--phases`` adds the
best time of each of the starter's own phases, from further runs with
``SCONE_LOG=debug`` (which prints them).

Run: ``python3 -m bench.startup [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import re
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


def _run_once(launch: Path, argv: list[str], env: dict, stderr: list | None = None) -> tuple[float, int]:
    """Wall seconds from fork to reaped exit, and peak RSS in KiB."""
    done = subprocess.run([str(launch), *argv], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    head, _, last = done.stderr.rstrip("\n").rpartition("\n")
    ns, rss, status = (int(x) for x in last.split()[1:])
    if status:
        sys.exit(f"startup: {argv[0]} exited {status}:\n{head}")
    if stderr is not None:
        stderr.append(head)
    return ns / 1e9, rss


PHASE = re.compile(r"start-up in the starter: (.*)")


def _phases(launch: Path, argv: list[str], env: dict, runs: int) -> dict[str, float]:
    """Best milliseconds of each phase the starter reports at SCONE_LOG=debug."""
    best: dict[str, float] = {}
    for _ in range(runs):
        logs: list[str] = []
        _run_once(launch, argv, dict(env, SCONE_LOG="debug"), logs)
        m = PHASE.search(logs[0])
        if not m:
            sys.exit(f"startup: {argv[0]} printed no start-up phases at SCONE_LOG=debug:\n{logs[0]}")
        for name, ms in re.findall(r"\s*([^,]+?) ([0-9.]+) ms", m.group(1)):
            best[name] = min(best.get(name, float("inf")), float(ms))
    return best


def _measure(launch: Path, argvs: list[list[str]], env: dict, runs: int) -> list[list[tuple[float, int]]]:
    """Samples of every argv, run in turn: one of each per round."""
    for argv in argvs:
        _run_once(launch, argv, env)  # warm the page cache
    samples = [[] for _ in argvs]
    for _ in range(runs):
        for argv, out in zip(argvs, samples):
            out.append(_run_once(launch, argv, env))
    return samples


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--phases", action="store_true", help="also time the starter's phases (SCONE_LOG=debug)")
    args = ap.parse_args(argv)
    env = dict(os.environ, SCONE_MODE="SIM")
    with tempfile.TemporaryDirectory(prefix="scone-bench-") as d:
        enclave, native = Path(d) / "hello-sgx", Path(d) / "hello-native"
        _build(enclave, "--scone-heap=64M")
        _build(native, "--scone-native", "-static")
        launch = _launcher(Path(d))
        sgx, nat = _measure(launch, [[str(enclave), "bench"], [str(native), "bench"]], env, args.runs)
        phases = _phases(launch, [str(enclave), "bench"], env, args.runs) if args.phases else {}
    best_sgx, best_nat = min(t for t, _ in sgx), min(t for t, _ in nat)
    med_sgx, med_nat = statistics.median(t for t, _ in sgx), statistics.median(t for t, _ in nat)
    rss_sgx, rss_nat = max(r for _, r in sgx), max(r for _, r in nat)
    extra = (rss_sgx - rss_nat) / 1024
    print(f"start-up  SIM enclave (64 MiB heap) vs native musl, {args.runs} interleaved runs each")
    print(f"  best    {best_sgx * 1e3:8.2f} ms vs {best_nat * 1e3:6.2f} ms   ratio {best_sgx / best_nat:6.1f}x   (goal <= 10x)")
    print(f"  median  {med_sgx * 1e3:8.2f} ms vs {med_nat * 1e3:6.2f} ms   ratio {med_sgx / med_nat:6.1f}x")
    print(f"peak RSS  SIM enclave: {rss_sgx / 1024:8.1f} MiB   native musl: "
          f"{rss_nat / 1024:8.1f} MiB   extra {extra:+6.1f} MiB   (goal <= +8 MiB)")
    if phases:
        print("starter phases, best of each: " + ", ".join(f"{k} {v:.3f} ms" for k, v in phases.items()))


if __name__ == "__main__":
    main()
