"""Build time: ``./configure --static && make`` of zlib with CC=scone-gcc against CC="gcc -static".

scone-gcc runs in each link mode asked for (``native``: SCONE_NATIVE=1, a
static musl program; ``enclave``: the default, a signed enclave binary).
Each run, for each compiler in turn (interleaved so that all see the same
machine load), starts from ``make distclean`` and times ``./configure
--static`` (whose checks link and run test programs: enclave links there)
and then ``make``. Printed: the best and the median wall time of each step
and of both, and the ratios of the bests to gcc's (issue 2 goal for make:
<= 1.15); the best drops runs that a busy machine (or a sysroot rebuild)
slowed. Never asserted.

Also printed, best of ``--calls`` interleaved calls: the driver's cost per
compile (``scone-gcc -c`` against ``gcc -c`` of a small file) and per link
of that object in each mode (against ``gcc -static``).

Run: ``python bench/build_time.py [--runs N] [--jobs N] [--calls N] [--modes native,enclave]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

MODES = ("native", "enclave")


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


def _timed(cmd, cwd, env) -> float:
    t = time.perf_counter()
    _sh(cmd, cwd, env)
    return time.perf_counter() - t


def _timed_build(tree: Path, env, jobs: int) -> tuple[float, float]:
    """(configure, make) wall times from a distclean tree."""
    subprocess.run(["make", "distclean"], cwd=tree, env=env, capture_output=True)
    return (_timed(["./configure", "--static"], tree, env),
            _timed(["make", f"-j{jobs}"], tree, env))


def _env(base, mode: str | None) -> dict:
    env = dict(base)
    if mode:
        env["SCONE_NATIVE"] = "1" if mode == "native" else "0"
    return env


def driver_costs(base_env, modes, calls: int) -> dict:
    """Best wall time of compiling and linking a small program, each way, interleaved."""
    with tempfile.TemporaryDirectory(prefix="scone-overhead-") as tmp:
        Path(tmp, "a.c").write_text('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
        _sh(["gcc", "-c", "a.c", "-o", "a.o"], tmp, base_env)
        cmds = {"compile gcc": (["gcc", "-c", "a.c", "-o", "c.o"], None),
                "compile scone-gcc": (["scone-gcc", "-c", "a.c", "-o", "c.o"], None),
                "link gcc -static": (["gcc", "-static", "a.o", "-o", "l"], None),
                # The floor under any Python driver: the interpreter's own start.
                "python start": ([sys.executable, "-c", "pass"], None)}
        for mode in modes:
            cmds[f"link scone-gcc {mode}"] = (["scone-gcc", "a.o", "-o", "l"], mode)
        best = {name: float("inf") for name in cmds}
        for _ in range(calls):
            for name, (cmd, mode) in cmds.items():
                best[name] = min(best[name], _timed(cmd, tmp, _env(base_env, mode)))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--modes", default=",".join(MODES),
                    help="scone-gcc link modes to time, comma-separated (native, enclave)")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        ap.error(f"--modes {args.modes!r}: choose from {', '.join(MODES)}")

    base = dict(os.environ)
    base.pop("SCONE_NATIVE", None)
    # The scone-gcc installed for this interpreter, not a version manager's
    # shim found first on PATH (pyenv's costs a shell and a process per call).
    here = Path(sys.executable).parent
    if (here / "scone-gcc").is_file():
        base["PATH"] = f"{here}{os.pathsep}{base.get('PATH', '')}"
    compilers = {"gcc -static": ("gcc -static", None)}
    compilers.update({f"scone-gcc {m}": ("scone-gcc", m) for m in modes})
    # Build the sysroot before anything is timed.
    _sh(["scone-gcc", "-print-sysroot"], ".", base)
    print(f"scone-gcc: {shutil.which('scone-gcc', path=base['PATH'])} "
          f"(Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="scone-build-time-") as tmp:
        trees = {name: _zlib_source(Path(tmp) / name.replace(" ", "_")) for name in compilers}
        steps = {step: {name: [] for name in compilers} for step in ("configure", "make", "both")}
        for _ in range(args.runs):
            for name, (cc, mode) in compilers.items():
                conf, make = _timed_build(trees[name], dict(_env(base, mode), CC=cc), args.jobs)
                for step, t in (("configure", conf), ("make", make), ("both", conf + make)):
                    steps[step][name].append(t)
    for step, times in steps.items():
        what = {"configure": "./configure --static", "make": f"make -j{args.jobs}",
                "both": "configure + make"}[step]
        best = {name: min(ts) for name, ts in times.items()}
        print(f"zlib {what}, {args.runs} interleaved runs")
        for name, ts in times.items():
            print(f"  CC={name:<18} best {best[name]:6.2f} s  median {statistics.median(ts):6.2f} s"
                  f"  runs: {', '.join(f'{t:.2f}' for t in ts)}")
        for mode in modes:
            ratio = best[f"scone-gcc {mode}"] / best["gcc -static"]
            goal = " (goal <= 1.15)" if step == "make" else ""
            print(f"  ratio scone-gcc ({mode}) / gcc -static (best): {ratio:.2f}{goal}")
    costs = driver_costs(base, modes, args.calls)
    print(f"one small program, best of {args.calls} interleaved calls:")
    print(f"  compile: gcc {costs['compile gcc'] * 1e3:.1f} ms, scone-gcc "
          f"{costs['compile scone-gcc'] * 1e3:.1f} ms, driver overhead "
          f"{(costs['compile scone-gcc'] - costs['compile gcc']) * 1e3:.1f} ms "
          f"(of which starting Python: {costs['python start'] * 1e3:.1f} ms)")
    for mode in modes:
        link = costs[f"link scone-gcc {mode}"]
        print(f"  link ({mode}): gcc -static {costs['link gcc -static'] * 1e3:.1f} ms, "
              f"scone-gcc {link * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
