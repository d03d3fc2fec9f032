"""Build time: configure and ``make -j2`` of a real autotools project with CC=scone-gcc against CC="gcc -static".

Projects: zlib (``./configure --static``) and lighttpd 1.4 (``./configure
--disable-shared --enable-static``, its modules linked in, as
tests/apps builds it), from Debian's source packages kept in the scone
cache. scone-gcc runs in each link mode asked for (``native``:
SCONE_NATIVE=1, a static musl program; ``enclave``: the default, a signed
enclave binary), through the installed ``scone-gcc`` (the launcher: a
compile execs gcc without Python) and, with ``--driver``, through
``scone-gcc-driver`` (the Python driver for every call, as before the
launcher). Each run, for each compiler in turn (interleaved so that all see
the same machine load), starts from ``make distclean`` and times configure
(whose checks link and run test programs: enclave links there) and then
``make``. Printed: the best and the median wall time of each step and of
both, the least CPU time (user + system of everything the step ran, which
a loaded machine inflates far less), and the ratios of the bests to gcc's (issue 20 goals for configure +
make: <= 1.15 native, <= 1.5 enclave); the best drops runs that a busy
machine slowed. Never asserted.

Also printed, best of ``--calls`` interleaved calls: the cost per compile
(``-c`` of a small file) through the launcher and through the driver against
``gcc -c``, the interpreter's own start, and per link of that object in each
mode (against ``gcc -static``).

``--neighbour`` runs everything beside one CPU-bound process
(bench/apps/neighbour.py), gcc included.

Run: ``python -m bench.build_time [--project zlib|lighttpd] [--runs N] [--jobs N]
[--calls N] [--modes native,enclave] [--driver] [--neighbour]``.
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

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.apps import neighbour  # noqa: E402

MODES = ("native", "enclave")
# lighttpd's checks of fork/exec* answer no unless the names are allowed
# (README, "Configure scripts and unsupported calls"); as tests/apps builds it.
LIGHTTPD_ALLOW = "fork,execve,execv,execvp"


def _source(package: str, dest: Path) -> Path:
    from scone_cc.paths import cache_dir

    store = cache_dir() / "test-sources" / package
    store.mkdir(parents=True, exist_ok=True)
    if not [p for p in store.glob("*.orig.tar.*") if not p.name.endswith(".asc")]:
        subprocess.run(["apt-get", "source", "--download-only", package], cwd=store,
                       check=True, capture_output=True)
    tarball = sorted(p for p in store.glob("*.orig.tar.*")
                     if not p.name.endswith(".asc") and "orig-" not in p.name)[0]
    with tarfile.open(tarball) as tf:
        top = tf.getnames()[0].split("/")[0]
        tf.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest / top


def _lighttpd_prepare(tree: Path) -> dict:
    """plugin-static.h, as lighttpd's static build expects the builder to
    write it, and <sys/queue.h> that musl lacks (after the compiler's own
    headers: gcc uses glibc's): as tests/apps builds it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "apps"))
    from appkit import compat
    from appkit.lighttpd import static_plugins

    mods = static_plugins((tree / "src" / "Makefile.am").read_text())
    (tree / "src" / "plugin-static.h").write_text("".join(f"PLUGIN_INIT({m})\n" for m in mods))
    return {"CPPFLAGS": f"-idirafter {compat.include_dir()}"}


PROJECTS = {
    "zlib": {"configure": ["./configure", "--static"], "env": {}},
    "lighttpd": {"configure": ["./configure", "--disable-shared", "--enable-static", "--without-pcre2",
                               "--without-zlib", "--without-bzip2"],
                 "env": {"LIGHTTPD_STATIC": "yes", "SCONE_ALLOW": LIGHTTPD_ALLOW},
                 "prepare": _lighttpd_prepare},
}


def _sh(cmd, cwd, env) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"build_time: {' '.join(cmd)} failed in {cwd}:\n{done.stdout[-1500:]}{done.stderr[-2000:]}")


def _timed_build(tree: Path, env, jobs: int, project: dict):
    """((configure wall, CPU), (make wall, CPU)) from a distclean tree."""
    subprocess.run(["make", "distclean"], cwd=tree, env=env, capture_output=True)
    return (_call(project["configure"], tree, env), _call(["make", f"-j{jobs}"], tree, env))


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
        # One call through the driver writes the launcher's fragment.
        _sh(["scone-gcc", "-c", "a.c", "-o", "c.o"], tmp, base_env)
        cmds = {"compile gcc": (["gcc", "-c", "a.c", "-o", "c.o"], None),
                "compile scone-gcc": (["scone-gcc", "-c", "a.c", "-o", "c.o"], None),
                "compile scone-gcc-driver": (["scone-gcc-driver", "-c", "a.c", "-o", "c.o"], None),
                "link gcc -static": (["gcc", "-static", "a.o", "-o", "l"], None),
                # The floor under any Python driver: the interpreter's own start.
                "python start": ([sys.executable, "-c", "pass"], None)}
        for mode in modes:
            cmds[f"link scone-gcc {mode}"] = (["scone-gcc", "a.o", "-o", "l"], mode)
        best = {name: (float("inf"), float("inf")) for name in cmds}
        for _ in range(calls):
            for name, (cmd, mode) in cmds.items():
                wall, cpu = _call(cmd, tmp, _env(base_env, mode))
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def _call(cmd, cwd, env) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; CPU is user + system of the call and
    the processes it waited for (gcc's cc1 and as), which a loaded machine
    inflates far less than wall time."""
    with tempfile.TemporaryFile() as log:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            sys.exit(f"build_time: {' '.join(cmd)} failed in {cwd}:\n{log.read().decode()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", choices=sorted(PROJECTS), default="zlib")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--modes", default=",".join(MODES),
                    help="scone-gcc link modes to time, comma-separated (native, enclave)")
    ap.add_argument("--driver", action="store_true",
                    help="also build with scone-gcc-driver (Python for every call, as before the launcher)")
    ap.add_argument("--neighbour", action="store_true", help="beside a CPU-bound process")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        ap.error(f"--modes {args.modes!r}: choose from {', '.join(MODES)}")
    project = PROJECTS[args.project]

    base = dict(os.environ)
    base.pop("SCONE_NATIVE", None)
    # As a user's Python runs the driver: with its bytecode cached (a wheel
    # ships it compiled; an editable install writes it on first use).
    # PYTHONDONTWRITEBYTECODE=1 would make every driver call compile its
    # ~45 modules again (about 140 ms here).
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    # The scone-gcc installed for this interpreter, not a version manager's
    # shim found first on PATH (pyenv's costs a shell and a process per call).
    here = Path(sys.executable).parent
    if (here / "scone-gcc").is_file():
        base["PATH"] = f"{here}{os.pathsep}{base.get('PATH', '')}"
    compilers = {"gcc -static": ("gcc -static", None)}
    for m in modes:
        compilers[f"scone-gcc {m}"] = ("scone-gcc", m)
        if args.driver:
            compilers[f"scone-gcc-driver {m}"] = ("scone-gcc-driver", m)
    # Build the sysroot before anything is timed.
    _sh(["scone-gcc", "-print-sysroot"], ".", base)
    print(f"scone-gcc: {shutil.which('scone-gcc', path=base['PATH'])} "
          f"(Python {sys.version.split()[0]}), load average {os.getloadavg()[0]:.1f}"
          + (", beside a CPU-bound neighbour" if args.neighbour else ""))
    with tempfile.TemporaryDirectory(prefix="scone-build-time-") as tmp, neighbour.busy(args.neighbour):
        trees, extra = {}, dict(project["env"])
        for name in compilers:
            trees[name] = _source(args.project, Path(tmp) / name.replace(" ", "_"))
            if "prepare" in project:
                extra.update(project["prepare"](trees[name]))
        steps = {step: {name: [] for name in compilers} for step in ("configure", "make", "both")}
        cpu = {step: {name: [] for name in compilers} for step in steps}
        for _ in range(args.runs):
            for name, (cc, mode) in compilers.items():
                env = dict(_env(base, mode), CC=cc, **extra)
                conf, make = _timed_build(trees[name], env, args.jobs, project)
                for step, t in (("configure", conf), ("make", make), ("both", (conf[0] + make[0], conf[1] + make[1]))):
                    steps[step][name].append(t[0])
                    cpu[step][name].append(t[1])
        costs = driver_costs(base, modes, args.calls)
    for step, times in steps.items():
        what = {"configure": " ".join(project["configure"]), "make": f"make -j{args.jobs}",
                "both": "configure + make"}[step]
        best = {name: min(ts) for name, ts in times.items()}
        least = {name: min(ts) for name, ts in cpu[step].items()}
        print(f"{args.project} {what}, {args.runs} interleaved runs")
        for name, ts in times.items():
            print(f"  CC={name:<24} best {best[name]:7.2f} s  median {statistics.median(ts):7.2f} s"
                  f"  runs: {', '.join(f'{t:.2f}' for t in ts)}; CPU (user + system) least "
                  f"{least[name]:7.2f} s")
        for name in compilers:
            if name == "gcc -static":
                continue
            ratio = best[name] / best["gcc -static"]
            goal = f" (goal <= {1.15 if name.endswith('native') else 1.5})" if step == "both" else ""
            print(f"  ratio {name} / gcc -static, wall (best): {ratio:.2f}{goal}; "
                  f"CPU (least): {least[name] / least['gcc -static']:.2f}")
    print(f"one small program, best of {args.calls} interleaved calls, wall / CPU (user + system):")

    def ms(name):
        return f"{costs[name][0] * 1e3:.1f} / {costs[name][1] * 1e3:.1f} ms"

    def extra(name, base="compile gcc"):
        return (f"+{(costs[name][0] - costs[base][0]) * 1e3:.1f} / "
                f"+{(costs[name][1] - costs[base][1]) * 1e3:.1f} ms")

    print(f"  compile: gcc {ms('compile gcc')}; scone-gcc {ms('compile scone-gcc')} "
          f"({extra('compile scone-gcc')}); through the Python driver {ms('compile scone-gcc-driver')} "
          f"({extra('compile scone-gcc-driver')}; starting Python alone: {ms('python start')})")
    for mode in modes:
        print(f"  link ({mode}): gcc -static {ms('link gcc -static')}, scone-gcc {ms(f'link scone-gcc {mode}')} "
              f"({extra(f'link scone-gcc {mode}', 'link gcc -static')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
