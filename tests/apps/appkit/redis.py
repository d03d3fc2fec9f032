"""Redis 7 (Debian ``redis``): ``make MALLOC=libc``, its own ``./runtest`` (Tcl harness, host tclsh).

redis-server starts bio threads (and jemalloc is replaced by libc malloc,
as upstream allows), so in the enclave it runs once threads do.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from . import build, source
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


_OK = re.compile(r"^\[ok\]: ", re.M)
_ERR = re.compile(r"^\[(?:err|exception)\]: (.*)$", re.M)


def runtest(tree: Path, flavour: Flavour, *args: str, timeout: float = 4 * 3600) -> dict:
    """``./runtest --clients 2 [args]``: counts of ``[ok]`` and the ``[err]`` lines."""
    out = subprocess.run(["./runtest", "--clients", "2", "--timeout", "1200", *args], cwd=tree,
                         env=flavour.environ(ALLOW), capture_output=True, text=True, timeout=timeout)
    text = out.stdout + out.stderr
    return {"rc": out.returncode, "passed": len(_OK.findall(text)), "failed": _ERR.findall(text),
            "log": text[-6000:]}
