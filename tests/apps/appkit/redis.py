"""Redis 7 (Debian ``redis``): ``make MALLOC=libc``, its own ``./runtest`` (Tcl harness, host tclsh).

redis-server starts bio threads (and jemalloc is replaced by libc malloc,
as upstream allows), so in the enclave it runs once threads do.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import build, source, suite
from .flavour import Flavour

PACKAGE = "redis"
# BGSAVE/BGREWRITEAOF and replication's disk-based sync fork; the
# supervision helpers exec.
ALLOW = ("fork", "execve", "execv", "execvp")
MAKE = ["MALLOC=libc", "BUILD_TLS=no", "USE_SYSTEMD=no"]


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(["make", "-j2", f"CC={flavour.cc}", *MAKE], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # runtest colours its [ok]/[err] tags
_OK = re.compile(r"^\[ok\]: ", re.M)
_ERR = re.compile(r"^\[(?:err|exception)\]: (.*)$", re.M)


def runtest(tree: Path, flavour: Flavour, *args: str, timeout: float = 2 * 3600) -> dict:
    """``./runtest --clients 2 [args]``: counts of ``[ok]`` and the ``[err]`` lines."""
    rc, text = suite.run(["./runtest", "--clients", "2", "--timeout", "1200", *args], tree,
                         flavour.environ(ALLOW), timeout)
    text = _ANSI.sub("", text)
    return {"rc": rc, "passed": len(_OK.findall(text)), "failed": _ERR.findall(text),
            "log": text[-6000:]}
