"""wrk against nginx and lighttpd: SIM async, SIM sync, native glibc, native musl (issue 7).

Each server serves one 4 KiB static file on loopback, one process
(nginx ``master_process off``; ``lighttpd -D``); wrk runs ``--seconds`` per
measurement with ``--connections`` keep-alive connections; rounds are
interleaved and the best of ``--rounds`` is printed with its own p99. The
servers are stopped after each measurement. Figures are printed, never
asserted.

Run: ``python -m bench.app_http [--seconds 5] [--rounds 3] [--connections 16]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

from bench import apps  # noqa: F401  (puts appkit on sys.path)
from bench.apps import table, wrk
from bench.apps.configs import CONFIGS

from appkit import flavour as flavours  # noqa: E402
from appkit import lighttpd, nginx, server  # noqa: E402


@dataclasses.dataclass
class Server:
    name: str
    module: object

    def build(self, fl):
        return self.module.build_tree(fl)

    def command(self, tree, work: Path, port: int, root: Path) -> list[str]:
        if self.module is nginx:
            conf = nginx.config(work / "prefix", port, root)
            return nginx.command(tree, work / "prefix", conf)
        return lighttpd.command(tree, lighttpd.config(work, port, root))


SERVERS = (Server("nginx", nginx), Server("lighttpd", lighttpd))


def measure(srv: Server, cfg, tree, args) -> dict:
    fl = flavours.get(cfg.flavour)
    with tempfile.TemporaryDirectory(prefix=f"bench-{srv.name}-") as d:
        work = Path(d)
        root = work / "www"
        root.mkdir()
        (root / "index.html").write_bytes(b"x" * 4096)
        port = server.free_port()
        env = fl.environ(srv.module.ALLOW, **cfg.env)
        with open(work / "server.log", "w") as log:
            try:
                with server.running(srv.command(tree, work, port, root), port, env, log):
                    return wrk.run(f"http://127.0.0.1:{port}/index.html", args.seconds, args.connections)
            except RuntimeError as why:
                return {"note": f"{why}: {(work / 'server.log').read_text().strip()[-160:]}"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args(argv)
    if not wrk.available():
        sys.exit("app_http: wrk is missing: apt-get install wrk")
    for srv in SERVERS:
        trees, runs = {}, {c.label: [] for c in CONFIGS}
        for cfg in CONFIGS:
            try:
                trees[cfg.label] = srv.build(flavours.get(cfg.flavour))
            except Exception as why:  # a missing compiler or a failed build: reported in the table
                runs[cfg.label].append({"note": f"not built: {str(why).splitlines()[0][:120]}"})
        for _ in range(args.rounds):
            for cfg in CONFIGS:
                if cfg.label in trees:
                    runs[cfg.label].append(measure(srv, cfg, trees[cfg.label], args))
        rows = {label: table.best(r) for label, r in runs.items()}
        print(table.render(f"{srv.name}: wrk -c{args.connections} {args.seconds}s, 4 KiB file, "
                           f"best of {args.rounds}", rows), flush=True)


if __name__ == "__main__":
    main()
