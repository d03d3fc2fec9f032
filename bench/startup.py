"""Start-up time and resident memory: a SIM enclave hello against native musl.

Builds ``samples/hello.c`` twice with scone-gcc: as an enclave binary with a
64 MiB heap (run with ``SCONE_MODE=SIM``) and as a native static musl
executable (``--scone-native``). Each runs ``--runs`` times; the figures are
the median wall time from fork to exit and the largest peak RSS (``wait4``
rusage). Goals (issue 3): time <= 10x native, RSS <= native + 8 MiB (heap
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "samples" / "hello.c"


def _build(out: Path, *flags: str) -> None:
    argv = ["scone-gcc", "-O2", *flags, str(HELLO), "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"startup: {' '.join(argv)} failed:\n{done.stderr}")


def _run_once(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds from spawn to reaped exit, and peak RSS in KiB."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode:
        sys.exit(f"startup: {argv[0]} exited {proc.returncode}:\n{err}")
    return elapsed, usage.ru_maxrss


def _measure(argv: list[str], env: dict, runs: int) -> tuple[float, int]:
    _run_once(argv, env)  # warm the page cache
    samples = [_run_once(argv, env) for _ in range(runs)]
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
        t_sgx, rss_sgx = _measure([str(enclave), "bench"], env, args.runs)
        t_nat, rss_nat = _measure([str(native), "bench"], env, args.runs)
    ratio = t_sgx / t_nat if t_nat else float("inf")
    extra = (rss_sgx - rss_nat) / 1024
    print(f"start-up  SIM enclave (64 MiB heap): {t_sgx * 1e3:8.2f} ms   "
          f"native musl: {t_nat * 1e3:8.2f} ms   ratio {ratio:6.1f}x   (goal <= 10x)")
    print(f"peak RSS  SIM enclave: {rss_sgx / 1024:8.1f} MiB   native musl: "
          f"{rss_nat / 1024:8.1f} MiB   extra {extra:+6.1f} MiB   (goal <= +8 MiB)")


if __name__ == "__main__":
    main()
