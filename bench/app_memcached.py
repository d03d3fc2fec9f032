"""memcaslap load (default 9:1 get:set mix) on memcached: SIM async, SIM sync, native glibc, native musl.

memcached (libevent built with the same compiler) runs in the foreground
with 1 worker thread on loopback; memcaslap runs ``--seconds`` with 16
connections; rounds interleaved, best of ``--rounds``. memcached's worker
and maintenance threads run in the enclave as lthreads; should a sysroot's
threads not run, its enclave rows say so instead of failing the run.

Run: ``python -m bench.app_memcached [--seconds 5] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import apps  # noqa: F401  (puts appkit on sys.path)
from bench.apps import memcaslap, table
from bench.apps.configs import CONFIGS

from appkit import flavour as flavours  # noqa: E402
from appkit import memcached, probe, server  # noqa: E402


def measure(cfg, tree, seconds: int) -> dict:
    fl = flavours.get(cfg.flavour)
    port = server.free_port()
    with tempfile.TemporaryDirectory(prefix="bench-memcached-") as d:
        cmd = [*_unprivileged(tree / "memcached", Path(d)), "-l", "127.0.0.1", "-p", str(port), "-U", "0",
               "-t", "1", "-m", "256"]
        with open(Path(d) / "server.log", "w") as log:
            try:
                with server.running(cmd, port, fl.environ(memcached.ALLOW, **cfg.env), log):
                    return memcaslap.run(port, seconds)
            except RuntimeError as why:
                return {"note": str(why)[:120]}


def _unprivileged(exe: Path, work: Path) -> list[str]:
    """The server started as ``nobody`` when we are root, from a copy it can read.

    As root memcached wants ``-u``, and dropping privileges with its threads
    running (setgroups/setgid/setuid) does not return in the enclave (see
    tests/apps/repro); started as nobody it never calls them. The build tree
    lies under root's home, which nobody cannot enter, hence the copy.
    """
    if os.geteuid() != 0:
        return [str(exe)]
    copy = work / exe.name
    shutil.copy2(exe, copy)
    work.chmod(0o755)
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(copy)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if not memcaslap.available():
        sys.exit("app_memcached: memcaslap is missing: apt-get install libmemcached-tools")
    trees, rows = {}, {}
    for cfg in CONFIGS:
        fl = flavours.get(cfg.flavour)
        why = probe.threads(fl) if fl.enclave else None
        if why:
            rows[cfg.label] = {"note": "skipped: memcached starts worker threads; " + why.split(":")[0]}
            continue
        try:
            trees[cfg.label] = memcached.build_tree(fl)
        except Exception as err:
            rows[cfg.label] = {"note": f"not built: {str(err).splitlines()[0][:120]}"}
    runs = {label: [] for label in trees}
    for _ in range(args.rounds):
        for cfg in CONFIGS:
            if cfg.label in trees:
                runs[cfg.label].append(measure(cfg, trees[cfg.label], args.seconds))
    for cfg in CONFIGS:
        if cfg.label in runs:
            rows[cfg.label] = table.best(runs[cfg.label])
    ordered = {cfg.label: rows[cfg.label] for cfg in CONFIGS}
    print(table.render(f"memcached: memcaslap -c16 {args.seconds}s, best of {args.rounds}", ordered, "ops/s"),
          flush=True)


if __name__ == "__main__":
    main()
