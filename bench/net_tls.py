"""redis-benchmark through the network shield (TLS inside the enclave) against plain TCP in the enclave (SIM).

One redis-server build (unmodified, BUILD_TLS=no), linked twice: as built,
and with ``--scone-net=server:PORT:tls:...``. For each: SET/GET with
keep-alive (``-t set,get``), and PING with a new connection per request
(``-k 0``), whose rate is the handshake rate (new TLS connections per
second; TLS 1.3, ECDSA P-256 from openssl). Best of ``--rounds``; printed,
never asserted.

Run: ``python -m bench.net_tls [--requests 20000] [--clients 16] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import apps  # noqa: F401  (puts appkit on sys.path)

from appkit import flavour as flavours  # noqa: E402
from appkit import probe, redis, server  # noqa: E402


def certs(d: Path) -> None:
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    (d / "san").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.pem", "-days", "2", "-extfile", "san")


def bench(port: int, tls: Path | None, args, *extra: str) -> dict[str, float]:
    cmd = ["redis-benchmark", "-p", str(port), "-q", "-c", str(args.clients), *extra]
    if tls:
        cmd += ["--tls", "--cacert", str(tls / "ca.pem")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800).stdout
    return {m[0]: float(m[1]) for m in re.findall(r"([A-Z_]+): ([0-9.]+) requests per second",
                                                   out.replace("\r", "\n"))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if not shutil.which("redis-benchmark") or not shutil.which("openssl"):
        sys.exit("net_tls: needs redis-benchmark (with --tls) and openssl")
    fl = flavours.get("scone")
    why = probe.threads(fl)
    if why:
        sys.exit(f"net_tls: redis-server starts bio threads; {why}")
    tree = redis.build_tree(fl)
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-net-tls-") as d:
        d = Path(d)
        certs(d)
        port = server.free_port()
        variants = {
            "enclave, plain TCP": (tree / "src" / "redis-server", None),
            "enclave, TLS in the shield": (redis.relinked_server(
                tree, fl, d / "redis-server-tls",
                f"--scone-net=server:{port}:tls:cert={d}/srv.pem,key={d}/srv.key"), d),
        }
        for _ in range(args.rounds):
            for label, (binary, tls) in variants.items():
                cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--dir", str(d)]
                with open(d / "server.log", "w") as log, \
                        server.running(cmd, port, fl.environ(redis.ALLOW), log):
                    r = bench(port, tls, args, "-n", str(args.requests), "-t", "set,get")
                    r.update({"new connections (PING, -k 0)": v for k, v in
                              bench(port, tls, args, "-n", str(max(args.requests // 10, 200)),
                                    "-k", "0", "-t", "ping").items() if k == "PING_INLINE"})
                for test, v in r.items():
                    best[(label, test)] = max(best.get((label, test), 0.0), v)
    tests = ["SET", "GET", "new connections (PING, -k 0)"]
    print(f"redis-benchmark, {args.clients} clients, {args.requests} requests, best of {args.rounds} (SIM); "
          "requests (or connections) per second")
    print(f"  {'':<30}" + "".join(f"{t:>30}" for t in tests))
    for label in variants:
        print(f"  {label:<30}" + "".join(f"{best.get((label, t), 0):>30.0f}" for t in tests))
    plain, tls = variants.keys()
    print(f"  {'TLS / plain':<30}" + "".join(
        f"{(best.get((tls, t), 0) / best[(plain, t)] if best.get((plain, t)) else 0):>30.2f}" for t in tests))


if __name__ == "__main__":
    main(sys.argv[1:])
