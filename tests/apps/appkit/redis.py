"""Redis 7 (Debian ``redis``): ``make MALLOC=libc``, its own ``./runtest`` (Tcl harness, host tclsh).

redis-server starts bio threads (and jemalloc is replaced by libc malloc,
as upstream allows). The harness itself (tclsh) runs natively and starts
the built ``src/redis-server``, ``redis-cli`` and ``redis-benchmark``, so
with ``scone`` every server and tool it starts is an enclave.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, source, suite
from .flavour import Flavour

PACKAGE = "redis"
# BGSAVE/BGREWRITEAOF and replication's disk-based sync fork; the
# supervision helpers exec.
ALLOW = ("fork", "execve", "execv", "execvp")
MAKE = ["MALLOC=libc", "BUILD_TLS=no", "USE_SYSTEMD=no"]
# The enclave's main stack, as large as Linux gives a native main thread
# (RLIMIT_STACK, 8 MiB). lzf_compress keeps a 512 KiB hash table on the
# stack (list compression, RDB); with the default 256 KiB its stores skip the
# one guard page and land in mmap'd memory below: redis then answers "unknown
# command" for valid commands (repro/stack_frame_skips_guard.c).
STACK = "8M"


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW, SCONE_STACK=STACK)
        build.step(["make", "-j2", f"CC={flavour.cc}", *MAKE], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


# Tests that pass natively and fail in the enclave, each with its reason.
# Filled from the run recorded in tests/apps/RESULTS.md.
ENCLAVE_NEEDS_FORK: dict[str, str] = {}
ENCLAVE_RUNTIME_BUG: dict[str, str] = {}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # runtest colours its [ok]/[err] tags
_OK = re.compile(r"^\[ok\]: (.*?) \(\d+ ms\)$", re.M)
_ERR = re.compile(r"^\[err\]: (.*)$", re.M)
_EXC = re.compile(r"^\[exception\]: (.*)$", re.M)
_TIMEOUT = re.compile(r"^\[TIMEOUT\]", re.M)
_UNITS = re.compile(r"set ::all_tests \{(.*?)\}", re.S)


def all_units(test_helper: str) -> list[str]:
    """The units ``tests/test_helper.tcl`` runs by default, in its order. Pure."""
    m = _UNITS.search(test_helper)
    if not m:
        raise ValueError("tests/test_helper.tcl: no 'set ::all_tests {...}' list")
    return m.group(1).split()


def parse(text: str) -> dict:
    """One runtest output -> names passed, failed (``[err]``), the exception that stopped it. Pure."""
    text = _ANSI.sub("", text)
    exc = _EXC.findall(text)
    return {"ok": _OK.findall(text), "err": [e.split(" in tests/")[0] for e in _ERR.findall(text)],
            "exception": exc[0] if exc else ("harness timeout" if _TIMEOUT.search(text) else None)}


def _workspace(tree: Path) -> Path:
    """A short-named copy of ``tests/`` with the rest of the tree linked in.

    The harness puts each server's unix socket under ``tests/tmp``: under the
    build cache that path passes the 108-byte limit and every server exits. A
    private ``tests/`` also lets units run side by side (each run wipes
    ``tests/tmp`` when it starts).
    """
    ws = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    for entry in tree.iterdir():
        if entry.name != "tests":
            (ws / entry.name).symlink_to(entry)
    shutil.copytree(tree / "tests", ws / "tests", ignore=lambda d, names: ["tmp"] if d == str(tree / "tests") else [])
    (ws / "tests" / "tmp").mkdir()
    return ws


def run_unit(tree: Path, flavour: Flavour, unit: str, slot: int = 0, timeout: float = 900) -> dict:
    """``./runtest --single <unit> --clients 1`` in its own workspace and port range.

    ``--durable``: a test that raises (not only one whose assertion fails)
    is reported as ``[err]`` and the unit goes on, so one failing test costs
    only itself. One unit per run bounds a hang to that unit.
    """
    ws = _workspace(tree)
    try:
        base = 20000 + 1000 * slot  # cluster tests also use base+10000
        # In the enclave a BGSAVE (fork) fails, and with the default
        # stop-writes-on-bgsave-error every later write in the unit would
        # fail with MISCONF: this keeps the damage to the test that forked.
        extra = ["--config", "stop-writes-on-bgsave-error", "no"] if flavour.enclave else []
        rc, text = suite.run(["./runtest", "--single", unit, "--clients", "1", "--timeout", "300", "--durable",
                              "--baseport", str(base), "--portcount", "900", *extra],
                             ws, flavour.environ(ALLOW), timeout)
    finally:
        shutil.rmtree(ws, ignore_errors=True)
    res = parse(text)
    if rc is None:
        res["exception"] = res["exception"] or f"no result within {timeout:.0f}s"
    return {"unit": unit, "rc": rc, **res, "log": _ANSI.sub("", text)[-4000:]}


def run_units(tree: Path, flavour: Flavour, units: list[str], jobs: int = 2,
              timeout: float = 900) -> dict[str, dict]:
    """Every unit in ``units``, ``jobs`` at a time: unit -> its ``run_unit`` result."""
    slots = list(range(jobs))

    def one(unit: str) -> dict:
        slot = slots.pop()
        try:
            return run_unit(tree, flavour, unit, slot, timeout)
        finally:
            slots.append(slot)
    with ThreadPoolExecutor(jobs) as pool:
        return {r["unit"]: r for r in pool.map(one, units)}


def runtest(tree: Path, flavour: Flavour, *args: str, timeout: float = 2 * 3600) -> dict:
    """``./runtest --clients 2 [args]`` in one run: counts of ``[ok]`` and the ``[err]`` lines."""
    rc, text = suite.run(["./runtest", "--clients", "2", "--timeout", "1200", *args], tree,
                         flavour.environ(ALLOW), timeout)
    res = parse(text)
    return {"rc": rc, "passed": len(res["ok"]), "failed": res["err"], "log": _ANSI.sub("", text)[-6000:]}
