"""nginx (Debian ``nginx`` upstream tarball): built without PCRE and zlib, run as one process.

Debian ships no nginx test suite; the checks serve real requests from
``master_process off; daemon off;`` — the single-process mode, since the
enclave refuses fork.
"""

from __future__ import annotations

from pathlib import Path

from . import build, compat, source
from .flavour import Flavour

PACKAGE = "nginx"
# Master/worker processes and the binary upgrade (SIGUSR2) fork and exec;
# unused with master_process off.
ALLOW = ("fork", "execve")


def build_tree(flavour: Flavour) -> Path:
    """The source tree with ``objs/nginx``."""
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(["./configure", f"--prefix={work / 'prefix'}", "--without-http_rewrite_module",
                    "--without-http_gzip_module", "--without-pcre",
                    f"--with-cc-opt=-idirafter {compat.include_dir()}"], src, env)
        build.step(["make", "-j2"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


def config(prefix: Path, port: int, root: Path, workers_connections: int = 1024) -> Path:
    """Write a single-process nginx.conf under ``prefix`` serving ``root`` on ``port``."""
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(f"""\
master_process off;
daemon off;
worker_processes 1;
error_log stderr warn;
pid {prefix}/nginx.pid;
events {{ worker_connections {workers_connections}; }}
http {{
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    return conf


def command(tree: Path, prefix: Path, conf: Path) -> list[str]:
    return [str(tree / "objs" / "nginx"), "-p", str(prefix), "-c", str(conf)]
