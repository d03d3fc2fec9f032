"""redis-benchmark GET/SET, without and with pipelining: SIM async, sync, adaptive, native glibc, native musl.

redis-server runs in the foreground with persistence off on loopback;
``--requests`` per test, 16 clients, pipeline 1 and ``--pipeline``; rounds
interleaved, best of ``--rounds`` printed. ``--neighbour`` runs every
configuration beside one CPU-bound process (apps/neighbour.py). redis-server starts its bio
threads in the enclave as lthreads; should a sysroot's threads not run, its
enclave rows say so instead of failing the run.

Run: ``python -m bench.app_redis [--requests 100000] [--pipeline 16] [--rounds 3] [--neighbour]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import apps  # noqa: F401  (puts appkit on sys.path)
from bench.apps import neighbour, redis_bench, table
from bench.apps.configs import CONFIGS

from appkit import flavour as flavours  # noqa: E402
from appkit import probe, redis, server  # noqa: E402


def measure(cfg, tree, requests: int, pipeline: int) -> dict[str, dict]:
    fl = flavours.get(cfg.flavour)
    port = server.free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as d:
        cmd = [str(tree / "src" / "redis-server"), "--port", str(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", d]
        with open(Path(d) / "server.log", "w") as log:
            try:
                with server.running(cmd, port, fl.environ(redis.ALLOW, **cfg.env), log):
                    return redis_bench.run(port, requests, pipeline)
            except RuntimeError as why:
                return {"*": {"note": str(why)[:120]}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--neighbour", action="store_true", help="beside a CPU-bound process")
    args = ap.parse_args(argv)
    if not redis_bench.available():
        sys.exit("app_redis: redis-benchmark is missing: apt-get install redis-tools")
    trees, skip = {}, {}
    for cfg in CONFIGS:
        fl = flavours.get(cfg.flavour)
        why = probe.threads(fl) if fl.enclave else None
        if why:
            skip[cfg.label] = "skipped: redis-server starts bio threads; " + why.split(":")[0]
            continue
        try:
            trees[cfg.label] = redis.build_tree(fl)
        except Exception as err:
            skip[cfg.label] = f"not built: {str(err).splitlines()[0][:120]}"
    results = {(cfg.label, p): [] for cfg in CONFIGS for p in (1, args.pipeline)}
    with neighbour.busy(args.neighbour):
        for _ in range(args.rounds):
            for pipeline in (1, args.pipeline):
                for cfg in CONFIGS:
                    if cfg.label in trees:
                        res = measure(cfg, trees[cfg.label], args.requests, pipeline)
                        for test in ("SET", "GET"):
                            results[(cfg.label, pipeline)].append(dict(res.get(test) or res.get("*") or {}, test=test))
    beside = ", beside a CPU-bound neighbour" if args.neighbour else ""
    for pipeline in (1, args.pipeline):
        for test in ("SET", "GET"):
            rows = {}
            for cfg in CONFIGS:
                if cfg.label in skip:
                    rows[cfg.label] = {"note": skip[cfg.label]}
                    continue
                rows[cfg.label] = table.best([r for r in results[(cfg.label, pipeline)] if r["test"] == test])
            print(table.render(f"redis {test}, pipeline {pipeline}, {args.requests} requests, 16 clients, "
                               f"best of {args.rounds}{beside}", rows), flush=True)


if __name__ == "__main__":
    main()
