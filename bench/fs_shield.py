"""File-system shield (issue 14, "Measure"): the same enclave programs with
their files in an encrypted region and on an unprotected path, in the same
run, interleaved round by round, idle and beside a CPU-bound neighbour:

* SQLite's ``speedtest1`` (goal >= 0.7x of unprotected),
* sequential write and read, MB/s (bench/fs_seq.c; goal >= 0.5x),
* redis SET with ``appendonly yes``, ``appendfsync everysec``
  (redis-benchmark; goal >= 0.8x).

Best of ``--rounds``; ratios printed, never asserted. The programs are the
cached builds of tests/apps (appkit). Every SIM run prices an exit at 8,000
cycles, as the other application benchmarks do.

Run: ``python -m bench.fs_shield [--rounds 3] [--mib 64] [--size 10]
[--requests 20000] [--only seq,speedtest1,redis] [--no-neighbour]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import apps  # noqa: F401  (puts appkit on sys.path)
from bench.apps import neighbour, redis_bench

from appkit import flavour as flavours  # noqa: E402
from appkit import redis, server, sqlite  # noqa: E402

HERE = Path(__file__).resolve().parent
KEY = "00112233445566778899aabbccddeeff"
EXIT = {"SCONE_SIM_EXIT_CYCLES": "8000"}
GOALS = {"speedtest1": 0.7, "write": 0.5, "read": 0.5, "redis SET": 0.8}


def _why(r) -> str:
    """A failed run's last line of its own (not the enclave's log)."""
    own = [ln for ln in (r.stderr + r.stdout).splitlines() if ln.strip() and not ln.startswith("[SCONE|")]
    return own[-1][:120] if own else f"exit {r.returncode}"


def _signed(src: Path, region: Path, out: Path, env: dict) -> Path:
    """A copy of an enclave built with an encrypted region, re-signed for ``region``."""
    shutil.copy(src, out)
    r = subprocess.run(["scone-sign", "sign", "--fs", f"{region}:encrypted", str(out)], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"fs_shield: re-signing {src.name} failed: {r.stderr.strip()}")
    return out


def seq(exe: Path, d: Path, env: dict, mib: int) -> dict:
    r = subprocess.run([str(exe), str(d / "seq.bin"), str(mib), "65536"], env=env, capture_output=True,
                       text=True, timeout=900)
    if r.returncode:
        return {"note": _why(r)}
    w, rd = map(float, r.stdout.split())
    return {"write": w, "read": rd}


def speedtest1(exe: Path, d: Path, env: dict, size: int) -> dict:
    db = d / "speedtest1.db"
    t = time.perf_counter()
    r = subprocess.run([str(exe), "--size", str(size), str(db)], env=env, capture_output=True,
                       text=True, timeout=3600)
    wall = time.perf_counter() - t
    m = re.search(r"TOTAL\.*\s+([0-9.]+)s", r.stdout)
    if r.returncode or not m:
        return {"note": _why(r)}
    # speedtest1's own total (its timed tests), as a rate: runs per hour
    return {"speedtest1": 3600.0 / float(m.group(1)), "wall": wall}


def redis_set(exe: Path, d: Path, env: dict, requests: int) -> dict:
    port = server.free_port()
    cmd = [str(exe), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
           "--appendfsync", "everysec", "--dir", str(d)]
    with open(d.parent.parent / "redis.log", "a") as log:
        try:
            with server.running(cmd, port, env, log):
                time.sleep(0.5)                       # the AOF base is written at start
                out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set",
                                      "-n", str(requests), "-c", "16", "--csv"],
                                     capture_output=True, text=True, timeout=600)
        except RuntimeError as why:
            return {"note": str(why)[:120]}
    res = redis_bench.parse(out.stdout).get("SET")
    return {"redis SET": res["tput"]} if res else {"note": out.stderr.strip()[-120:]}


def build_all(work: Path, region: Path, env: dict, only: set) -> dict:
    scone = flavours.get("scone")
    exes = {}
    if "seq" in only:
        exe = work / "fs_seq"
        r = subprocess.run(["scone-gcc", "-O2", str(HERE / "fs_seq.c"), "-o", str(exe),
                            f"--scone-fs={region}:encrypted"], env=env, capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"fs_shield: building fs_seq failed: {r.stderr.strip()}")
        exes["seq"] = exe
    if "speedtest1" in only:
        exes["speedtest1"] = _signed(sqlite.build_speedtest1(scone) / "speedtest1", region,
                                     work / "speedtest1", env)
    if "redis" in only:
        exes["redis"] = redis.relinked_server(redis.build_tree(scone), scone, work / "redis-server",
                                              f"--scone-fs={region}:encrypted")
    return exes


def one_round(exes, dirs, envs, args) -> dict:
    """{(bench, where): result} for one interleaved round."""
    out = {}
    for where in ("unprotected", "encrypted"):
        # a fresh directory per run: files a region holds are removed only
        # through the enclave (a host unlink leaves the volume's record)
        d, env = dirs[where] / f"run-{time.monotonic_ns()}", envs[where]
        d.mkdir()
        if "seq" in exes:
            out[("seq", where)] = seq(exes["seq"], d, env, args.mib)
        if "speedtest1" in exes:
            out[("speedtest1", where)] = speedtest1(exes["speedtest1"], d, env, args.size)
        if "redis" in exes:
            out[("redis", where)] = redis_set(exes["redis"], d, env, args.requests)
    return out


def report(title: str, rounds: list[dict]) -> str:
    """Best of the rounds per figure, encrypted / unprotected. Pure."""
    lines = [title, f"  {'what':<34} {'unprotected':>12} {'encrypted':>12} {'ratio':>6}  goal"]
    units = {"speedtest1": "runs/h", "write": "MB/s", "read": "MB/s", "redis SET": "req/s"}
    for metric, bench in (("speedtest1", "speedtest1"), ("write", "seq"), ("read", "seq"),
                          ("redis SET", "redis")):
        best, notes = {}, []
        for where in ("unprotected", "encrypted"):
            res = [r[(bench, where)] for r in rounds if (bench, where) in r]
            vals = [x[metric] for x in res if x.get(metric)]
            best[where] = max(vals) if vals else None
            notes += [f"{where}: {x['note']}" for x in res if x.get("note")][:1]
        if not any(best.values()) and not notes:
            continue                                   # not run
        u, e = best["unprotected"], best["encrypted"]
        ratio, verdict = ("-", "")
        if u and e:
            ratio = f"{e / u:.2f}"
            verdict = "met" if e / u >= GOALS[metric] else "missed"
        lines.append(f"  {metric + ' (' + units[metric] + ')':<34} {f'{u:,.1f}' if u else '-':>12} "
                     f"{f'{e:,.1f}' if e else '-':>12} {ratio:>6}  >= {GOALS[metric]} {verdict} "
                     f"{' '.join(notes)[:160]}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=64, help="sequential file size")
    ap.add_argument("--size", type=int, default=10, help="speedtest1 --size")
    ap.add_argument("--requests", type=int, default=20000, help="redis-benchmark -n")
    ap.add_argument("--only", default="seq,speedtest1,redis")
    ap.add_argument("--no-neighbour", action="store_true", help="idle only")
    ap.add_argument("--cache", type=int, help="SCONE_FS_CACHE for the encrypted runs")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    if "redis" in only and not redis_bench.available():
        sys.exit("fs_shield: redis-benchmark is missing: apt-get install redis-tools")
    with tempfile.TemporaryDirectory(prefix="bench-fs-") as tmp:
        work = Path(tmp)
        region, plain = work / "vol", work / "plain"
        region.mkdir()
        plain.mkdir()
        base = dict(os.environ, SCONE_MODE="SIM", **EXIT)
        base.pop("SCONE_FS_KEY", None)
        exes = build_all(work, region, base, only)
        envs = {"unprotected": base,
                "encrypted": dict(base, SCONE_FS_KEY=f"{region}:{KEY}",
                                  **({"SCONE_FS_CACHE": str(args.cache)} if args.cache else {}))}
        envs = {k: redis_env(v) for k, v in envs.items()}
        dirs = {"unprotected": plain, "encrypted": region}
        phases = [(False, "idle")] + ([] if args.no_neighbour else [(True, "beside a CPU-bound neighbour")])
        for busy, label in phases:
            load = os.getloadavg()[0]
            with neighbour.busy(busy):
                rounds = [one_round(exes, dirs, envs, args) for _ in range(args.rounds)]
            print(report(f"fs shield, encrypted region vs unprotected path, same enclave binaries, "
                         f"{label}, best of {args.rounds} (load average {load:.1f} at the start)",
                         rounds), flush=True)


def redis_env(env: dict) -> dict:
    """redis-server references fork/exec (refused at run time): SCONE_ALLOW as tests/apps links it."""
    return dict(env, SCONE_ALLOW=",".join(redis.ALLOW))


if __name__ == "__main__":
    main()
