"""Lua 5.4 (Debian ``lua5.4``): upstream ``make -C src linux``.

Lua's own test suite is a separate upstream tarball that Debian does not
ship, so the checks are Lua scripts whose expected values come from the
language reference manual.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import build, source
from .flavour import Flavour

PACKAGE = "lua5.4"
# io.popen and os.execute start a shell: referenced, failing with ENOSYS at run time.
ALLOW = ("execve", "popen", "system")


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        build.step(["make", "-j2", "-C", "src", "linux", f"CC={flavour.cc}"], src,
                   flavour.environ(ALLOW))
        return src
    return build.cached(PACKAGE, flavour, recipe)


def run(tree: Path, flavour: Flavour, *args: str, **kw) -> subprocess.CompletedProcess:
    """Run the built ``lua`` with ``args``."""
    return subprocess.run([str(tree / "src" / "lua"), *args], env=flavour.environ(ALLOW),
                          capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
