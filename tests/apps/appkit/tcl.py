"""Tcl 8.6 (Debian ``tcl8.6``), static and single-threaded: the interpreter sqlite's testfixture links.

Built with the flavour's compiler too, so that the whole testfixture runs
in the enclave. ``exec`` and ``open |cmd`` start processes: referenced,
failing with ENOSYS at run time.
"""

from __future__ import annotations

from pathlib import Path

from . import build, source
from .flavour import Flavour

PACKAGE = "tcl8.6"
ALLOW = ("fork", "execve", "execvp", "execv")


def build_tree(flavour: Flavour) -> Path:
    """The installed ``lib`` folder: ``libtcl8.6.a``, ``tclConfig.sh`` and the script library ``tcl8.6``."""
    def recipe(work: Path) -> Path:
        unix = source.unpack(PACKAGE, work) / "unix"
        env = flavour.environ(ALLOW)
        build.step(["./configure", "--disable-shared", "--disable-threads", "--disable-load",
                    f"--prefix={work / 'inst'}"], unix, env)
        build.step(["make", "-j2", "binaries"], unix, env)
        build.step(["make", "install-binaries", "install-libraries", "install-headers"], unix, env)
        return work / "inst" / "lib"
    return build.cached(PACKAGE, flavour, recipe)
