"""Build time: ``make`` of zlib with CC=scone-gcc against CC="gcc -static".

Both trees are configured first (not timed), then ``make`` runs ``--runs``
times for each compiler, interleaved so both see the same machine load;
each run starts from ``make clean``. Printed: the best and the median wall
time of each and the ratio of the bests (issue 2 goal: <= 1.15); the best
drops runs that a busy machine (or a sysroot rebuild) slowed. Never asserted.

Also printed: the driver's own cost per compile, ``scone-gcc -c`` against
``gcc -c`` of an empty file (best of ``--calls``).

Run: ``python bench/build_time.py [--runs N] [--jobs N] [--calls N] [--native]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


def _zlib_source(dest: Path) -> Path:
    from scone_cc.paths import cache_dir

    store = cache_dir() / "test-sources" / "zlib"
    store.mkdir(parents=True, exist_ok=True)
    if not list(store.glob("*.orig.tar.*")):
        subprocess.run(["apt-get", "source", "--download-only", "zlib"], cwd=store,
                       check=True, capture_output=True)
    tarball = sorted(store.glob("*.orig.tar.*"))[0]
    with tarfile.open(tarball) as tf:
        top = tf.getnames()[0].split("/")[0]
        tf.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest / top


def _sh(cmd, cwd, env) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"build_time: {' '.join(cmd)} failed in {cwd}:\n{done.stderr[-2000:]}")


def _timed_make(tree: Path, env, jobs: int) -> float:
    _sh(["make", "clean"], tree, env)
    t = time.perf_counter()
    _sh(["make", f"-j{jobs}"], tree, env)
    return time.perf_counter() - t


def _per_call(cmd, cwd, env, calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        t = time.perf_counter()
        _sh(cmd, cwd, env)
        best = min(best, time.perf_counter() - t)
    return best


def compile_overhead(env, calls: int) -> tuple[float, float]:
    """Best wall time of one ``gcc -c`` and one ``scone-gcc -c`` of an empty main."""
    with tempfile.TemporaryDirectory(prefix="scone-overhead-") as tmp:
        Path(tmp, "a.c").write_text("int main(void) { return 0; }\n")
        cmd = ["-c", "a.c", "-o", "a.o"]
        gcc = scone = float("inf")
        for _ in range(calls):  # interleaved, like the builds
            gcc = min(gcc, _per_call(["gcc", *cmd], tmp, env, 1))
            scone = min(scone, _per_call(["scone-gcc", *cmd], tmp, env, 1))
    return gcc, scone


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--native", action="store_true", help="scone-gcc in its native link mode")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    if args.native:
        env["SCONE_NATIVE"] = "1"
    compilers = {"scone-gcc": "scone-gcc", "gcc -static": "gcc -static"}
    # Build the sysroot before anything is timed.
    _sh(["scone-gcc", "-print-sysroot"], ".", env)
    with tempfile.TemporaryDirectory(prefix="scone-build-time-") as tmp:
        trees = {}
        for name, cc in compilers.items():
            tree = _zlib_source(Path(tmp) / name.replace(" ", "_"))
            _sh(["./configure", "--static"], tree, dict(env, CC=cc))
            trees[name] = tree
        times = {name: [] for name in compilers}
        for _ in range(args.runs):
            for name, cc in compilers.items():
                times[name].append(_timed_make(trees[name], dict(env, CC=cc), args.jobs))
    best = {name: min(ts) for name, ts in times.items()}
    mode = "native" if args.native or env.get("SCONE_NATIVE") == "1" else "default"
    print(f"zlib make -j{args.jobs}, {args.runs} interleaved runs (scone-gcc link mode: {mode})")
    for name, ts in times.items():
        print(f"  CC={name:<12} best {best[name]:6.2f} s  median {statistics.median(ts):6.2f} s"
              f"  runs: {', '.join(f'{t:.2f}' for t in ts)}")
    print(f"  ratio scone-gcc / gcc -static (best): {best['scone-gcc'] / best['gcc -static']:.2f} (goal <= 1.15)")
    gcc, scone = compile_overhead(env, args.calls)
    print(f"one compile of an empty main (best of {args.calls}): gcc {gcc * 1e3:.1f} ms, "
          f"scone-gcc {scone * 1e3:.1f} ms, driver overhead {(scone - gcc) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
