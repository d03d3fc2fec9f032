"""CPU used by an idle server, issue 4: samples/echo_server.c blocked in
accept, built with scone-gcc, run in SIM with SCONE_SYSCALL=async (sthreads
spin, back off, then sleep; the ethread spins, then sleeps outside) and
sync, against the same server built natively with musl (--scone-native).
The figure is utime + stime of every thread (/proc/PID/stat) over
``--seconds`` of idleness, as a percentage of one core. Goal: under 2%.
Printed, never asserted.

Run: ``python bench/idle_cpu.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "samples" / "echo_server.c"


def _cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def idle_percent(exe: Path, env: dict, seconds: float) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = subprocess.Popen([str(exe), str(port)], env=dict(os.environ, SCONE_MODE="SIM", **env),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not p.stdout.readline().startswith("listening"):
            sys.exit(f"idle_cpu: {exe.name} did not start: {p.stderr.read()}")
        time.sleep(0.5)
        c0, t0 = _cpu(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = _cpu(p.pid), time.monotonic()
        return 100.0 * (c1 - c0) / (t1 - t0)
    finally:
        p.kill()
        p.wait()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        exes = {}
        for kind, flags in (("native", ["--scone-native"]), ("enclave", [])):
            exes[kind] = Path(d) / kind
            done = subprocess.run(["scone-gcc", "-O2", *flags, str(SERVER), "-o", str(exes[kind])],
                                  capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"idle_cpu: building the {kind} server failed:\n{done.stderr}")
        print(f"idle echo_server blocked in accept, CPU over {args.seconds:g} s (% of one core)")
        for name, kind, env in (("native musl", "native", {}), ("SIM async", "enclave", {"SCONE_SYSCALL": "async"}),
                                ("SIM sync", "enclave", {"SCONE_SYSCALL": "sync"})):
            print(f"  {name:12s} {idle_percent(exes[kind], env, args.seconds):6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
