"""lighttpd 1.4 (Debian ``lighttpd``): modules linked in (``LIGHTTPD_STATIC``), its own ``make check``.

The harness (``tests/run-tests.pl``, Perl) starts ``lighttpd -D`` in the
foreground, one process: no fork of the server itself. The FastCGI/SCGI
responders it talks to are built by the same ``make check``, so with
``scone`` they are enclaves too.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from . import build, compat, source
from .flavour import Flavour

PACKAGE = "lighttpd"
# mod_cgi and the fastcgi/scgi "bin-path" spawners start children; the
# server's own daemonising (-D not given) forks.
ALLOW = ("fork", "execve", "execv", "execvp")


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW, LIGHTTPD_STATIC="yes",
                              CPPFLAGS=f"-idirafter {compat.bsd_queue_include()}")
        build.step(["./configure", "--disable-shared", "--enable-static", "--without-pcre2",
                    "--without-zlib", "--without-bzip2"], src, env)
        build.step(["make", "-j2"], src, env)
        # The responders are check-only programs: build them now so the suite only runs.
        build.step(["make", "-j2", "-C", "tests", "fcgi-responder", "scgi-responder"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


# Harness lines that fail in the enclave only because the server would start
# a child (CGI, spawned FastCGI/SCGI backends); see tests/apps/RESULTS.md.
NEEDS_CHILD: tuple[str, ...] = ()

_TESTS = re.compile(r"^Files=(\d+), Tests=(\d+)", re.M)
_FAILED = re.compile(r"^(not ok \d+ .*)$", re.M)


def make_check(tree: Path, flavour: Flavour, timeout: float = 1800) -> dict:
    """``make check``: the Perl harness's test count and every ``not ok`` line."""
    out = subprocess.run(["make", "check"], cwd=tree, env=flavour.environ(ALLOW, LIGHTTPD_STATIC="yes"),
                         capture_output=True, text=True, timeout=timeout)
    text = out.stdout + out.stderr
    m = _TESTS.search(text)
    failed = _FAILED.findall(text)
    tests = int(m.group(2)) if m else None
    return {"rc": out.returncode, "tests": tests, "failed": failed,
            "passed": tests - len(failed) if tests is not None else None, "log": text[-6000:]}


def config(dirpath: Path, port: int, root: Path) -> Path:
    """A minimal foreground configuration serving ``root`` on ``port`` (no logs, one process)."""
    conf = dirpath / "lighttpd.conf"
    conf.write_text(f"""\
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dirpath}/error.log"
server.max-keep-alive-requests = 1000000
index-file.names = ("index.html")
""")
    return conf


def command(tree: Path, conf: Path) -> list[str]:
    return [str(tree / "src" / "lighttpd"), "-D", "-f", str(conf)]
