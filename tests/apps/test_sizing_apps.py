"""Real programs sized from their own test suites by one ``scone-sign size``
run (issue 22), then signed with the result: their suites pass as they do
signed with the defaults, and the sizes suggested are within 2x of the
smallest that pass, found by bisection (heap, stack, TCS, one at a time
with the others as suggested).

The quick case is lighttpd's whole ``make check`` (seconds once built); the
bisections and memcached (its quick prove files, about a minute a run) are
slow.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appkit import lighttpd, memcached, probe

from .conftest import built

HERE = Path(__file__).resolve().parent
LIGHTTPD_NAMED = {t for group in lighttpd.HARNESS_NEEDS_CHILD.values() for t in group}
# memcached: the quick files of test_memcached.py (the server's restart
# file is a 64 MiB shared mapping: the largest part of its heap).
MEMCACHED_FILES = ("t/restart.t", "t/noreply.t", "t/incrdecr.t", "t/multiversioning.t")


def _copy(tree: Path, dst: Path) -> Path:
    """A private copy of a cached build tree: sizing re-signs its binary."""
    shutil.copytree(tree, dst, symlinks=True)
    return dst


def _lighttpd_passes(tree: Path, scone) -> bool:
    """As test_lighttpd.test_make_check_in_enclave: all 224 harness tests ran,
    only the named ones (a child refused) failed."""
    res = lighttpd.make_check(tree, scone, timeout=600)
    return (res["tests"] == 224 and set(res["failed"]) <= LIGHTTPD_NAMED
            and set(res["unit_failed"]) <= {*lighttpd.NEEDS_CHILD, "run-tests.pl"})


def _memcached_command(tree: Path) -> list[str]:
    """memcached's quick ``make test`` steps as one command (exit 0 = they pass)."""
    code = ("import sys; from pathlib import Path; from appkit import flavour, memcached; "
            "fl = flavour.get('scone'); helpers = memcached.build_tree(flavour.get('musl')); "
            f"r = memcached.make_test(Path({str(tree)!r}), fl, helpers=helpers, files={MEMCACHED_FILES!r}); "
            "ok = r['prove_rc'] == 0 and r['files'] == len(" + repr(MEMCACHED_FILES) + ") and not r['problems'] "
            "and r['testapp']['ok'] and not r['testapp']['not_ok']; "
            "print(r['log'][-3000:], file=sys.stderr); sys.exit(0 if ok else 1)")
    return [sys.executable, "-c", code]


def _memcached_passes(tree: Path, scone) -> bool:
    env = scone.environ(memcached.ALLOW, PYTHONPATH=str(HERE))
    return subprocess.run(_memcached_command(tree), env=env, capture_output=True, timeout=1200).returncode == 0


def _size(binary: Path, command: list[str], cwd: Path, env: dict) -> dict:
    r = subprocess.run(["scone-sign", "size", "--apply", "--json", str(binary), "--", *command],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads(r.stdout)
    assert rep["measured"]["runs"] >= 1 and not rep["problems"], rep
    return rep


def _signed(binary: Path) -> dict:
    out = subprocess.run(["scone-sign", "show", "--json", str(binary)], capture_output=True, text=True)
    return json.loads(out.stdout)["parameters"]


def _sign(binary: Path, **sizes):
    args = []
    for name, value in sizes.items():
        args += [f"--{name}", str(value)]
    subprocess.run(["scone-sign", "sign", *args, str(binary)], check=True, capture_output=True)


def _smallest(passes, hi: int, step: int) -> int:
    """The smallest multiple of step in (0, hi] for which passes() holds; passes(hi) does."""
    lo = 0
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if mid <= lo:
            break
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi


def _bisect_all(binary: Path, suggested: dict, passes) -> dict:
    """Per size, the smallest that passes with the other two as suggested."""
    # The steps scone-sign size rounds to: 64 KiB of heap (1 MiB from 64 MiB on), a page of stack.
    heap_step = 1 << 20 if suggested["heap_size"] >= 64 << 20 else 64 << 10
    plan = {"heap": ("heap_size", heap_step), "stack": ("stack_size", 4 << 10), "tcs": ("tcs_count", 1)}
    found = {}
    for flag, (key, step) in plan.items():
        def trial(v, flag=flag, key=key):
            sizes = {"heap": suggested["heap_size"], "stack": suggested["stack_size"], "tcs": suggested["tcs_count"]}
            sizes[flag] = v
            _sign(binary, **sizes)
            return passes()
        found[key] = _smallest(trial, suggested[key], step)
    _sign(binary, heap=suggested["heap_size"], stack=suggested["stack_size"], tcs=suggested["tcs_count"])
    return found


def _within_2x(suggested: dict, smallest: dict):
    for key, least in smallest.items():
        assert least <= suggested[key] <= 2 * least, (key, suggested[key], least)


@pytest.fixture
def lighttpd_tree(scone, tmp_path):
    return _copy(built(lighttpd.build_tree, scone), tmp_path / "lighttpd")


def test_lighttpd_sized_from_make_check(scone, lighttpd_tree):
    """One run of make check sizes the server; signed with that, make check passes as before."""
    server = lighttpd_tree / "src" / "lighttpd"
    env = scone.environ(lighttpd.ALLOW, LIGHTTPD_STATIC="yes")
    rep = _size(server, ["make", "-k", "check"], lighttpd_tree, env)
    assert rep["measured"]["runs"] >= 4        # the harness starts the server once per test file
    assert _signed(server) == {**_signed(server), **rep["suggested"]}
    assert rep["suggested"]["heap_size"] < 64 << 20     # far below the default it was built with
    assert _lighttpd_passes(lighttpd_tree, scone)


@pytest.mark.slow
def test_lighttpd_sizes_within_2x_of_bisected(scone, lighttpd_tree):
    server = lighttpd_tree / "src" / "lighttpd"
    env = scone.environ(lighttpd.ALLOW, LIGHTTPD_STATIC="yes")
    rep = _size(server, ["make", "-k", "check"], lighttpd_tree, env)
    smallest = _bisect_all(server, rep["suggested"], lambda: _lighttpd_passes(lighttpd_tree, scone))
    print("lighttpd suggested", rep["suggested"], "smallest passing", smallest)
    _within_2x(rep["suggested"], smallest)


@pytest.mark.slow
def test_memcached_sized_and_within_2x_of_bisected(scone, musl, tmp_path):
    why = probe.threads(scone)
    if why:
        pytest.skip(f"memcached starts worker threads; {why}")
    built(memcached.build_tree, musl)                  # timedrun, the native helper
    tree = _copy(built(memcached.build_tree, scone), tmp_path / "memcached")
    server = tree / "memcached-debug"
    env = scone.environ(memcached.ALLOW, PYTHONPATH=str(HERE))
    rep = _size(server, _memcached_command(tree), tree, env)
    assert rep["command_status"] == 0
    assert rep["measured"]["heap_used"] > 64 << 20     # -m 64 items and the 64 MiB restart file
    assert _memcached_passes(tree, scone)
    smallest = _bisect_all(server, rep["suggested"], lambda: _memcached_passes(tree, scone))
    print("memcached suggested", rep["suggested"], "smallest passing", smallest)
    _within_2x(rep["suggested"], smallest)
