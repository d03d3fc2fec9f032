"""libevent 2.1 (Debian ``libevent``), static, installed into a prefix memcached builds against."""

from __future__ import annotations

from pathlib import Path

from . import build, source
from .flavour import Flavour

PACKAGE = "libevent"


def build_prefix(flavour: Flavour) -> Path:
    """An install prefix with ``include/event2`` and ``lib/libevent*.a``."""
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ()
        build.step(["./configure", f"--prefix={work / 'prefix'}", "--disable-shared", "--enable-static",
                    "--disable-openssl", "--disable-samples", "--disable-libevent-regress"], src, env)
        build.step(["make", "-j2"], src, env)
        build.step(["make", "install"], src, env)
        return work / "prefix"
    return build.cached(PACKAGE, flavour, recipe)
