"""One C benchmark program built three ways (native glibc, native musl
through scone-gcc --scone-native, an enclave) and run interleaved: the
best ns-per-call of each configuration. Shared by the latency benchmarks."""

import os
import subprocess
import sys
from pathlib import Path

KINDS = (("glibc", ["gcc", "-O2"]), ("musl", ["scone-gcc", "-O2", "--scone-native"]),
         ("enclave", ["scone-gcc", "-O2"]))


def build(tool: str, src: Path, out_dir: Path) -> dict:
    """kind -> executable of src, built each way; exit with the compiler's words on failure."""
    out = {}
    for kind, argv in KINDS:
        exe = out_dir / kind
        done = subprocess.run([*argv, str(src), "-o", str(exe)], capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{tool}: building the {kind} variant failed:\n{done.stderr}")
        out[kind] = exe
    return out


def run(tool: str, exe: Path, env: dict, calls: int) -> float:
    """ns per call that exe prints first for `exe CALLS`, in SIM with env added."""
    e = dict(os.environ, SCONE_MODE="SIM", **env)
    done = subprocess.run([str(exe), str(calls)], env=e, capture_output=True, text=True, timeout=600)
    if done.returncode:
        sys.exit(f"{tool}: {exe.name} failed: {done.stderr.strip()}")
    return float(done.stdout.split()[0])


def best_of(tool: str, configs, exes: dict, runs: int, calls: int) -> dict:
    """name -> best ns per call over runs rounds, the configurations interleaved
    in each round; configs: (name, kind, env) triples."""
    best = {name: float("inf") for name, _, _ in configs}
    for _ in range(runs):
        for name, kind, env in configs:
            best[name] = min(best[name], run(tool, exes[kind], env, calls))
    return best
