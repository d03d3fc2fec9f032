"""Redis 7's own ``./runtest``, unit by unit, native plain musl against the enclave (SIM).

The quick case is the smoke test: redis-server in the enclave answering
redis-cli (the enclave build is cached; about 1 min when the sysroot is new).
"""

import subprocess
from collections import Counter

import pytest

from appkit import probe, redis, server

from .conftest import built, is_enclave

# Fail natively too, as root only: SHUTDOWN's save-failure checks rely on
# an unwritable directory, which root can write.
ROOT_ONLY = {"SHUTDOWN will abort if rdb save failed on signal",
             "SHUTDOWN will abort if rdb save failed on shutdown command",
             "SHUTDOWN can proceed if shutdown command was with nosave or force"}


def _units(tree):
    return redis.all_units((tree / "tests" / "test_helper.tcl").read_text())


def _not_passed(results: dict) -> Counter:
    """Names that did not pass, over all units: failed ones, and units that never reported."""
    out = Counter()
    for r in results.values():
        out.update(r["err"])
        if r["exception"]:
            out[f"{r['unit']}: {r['exception']}"] += 1
    return out


@pytest.mark.slow
def test_runtest_native_musl(musl):
    tree = built(redis.build_tree, musl)
    res = redis.run_units(tree, musl, _units(tree))
    assert sum(len(r["ok"]) for r in res.values()) > 2000
    assert set(_not_passed(res)) <= ROOT_ONLY, {u: r["log"] for u, r in res.items() if r["err"] or r["exception"]}


@pytest.mark.slow
def test_runtest_in_enclave(scone, musl):
    """Every test that passes natively passes in the enclave, apart from the named ones."""
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    tree = built(redis.build_tree, scone)
    assert is_enclave(tree / "src" / "redis-server")
    units = _units(tree)
    native = redis.run_units(built(redis.build_tree, musl), musl, units)
    ours = redis.run_units(tree, scone, units)
    explained = (redis.ENCLAVE_NEEDS_FORK.keys() | redis.ENCLAVE_AFTER_FORK.keys() | redis.ENCLAVE_REFUSED.keys()
                 | redis.ENCLAVE_RUNTIME_BUG.keys())
    for unit in units:
        lost = Counter(native[unit]["ok"]) - Counter(ours[unit]["ok"])
        gained = Counter(ours[unit]["ok"]) - Counter(native[unit]["ok"])
        if unit in redis.ENCLAVE_UNITS_NEED_FORK:
            continue
        assert not ours[unit]["exception"] or unit in redis.ENCLAVE_UNIT_ENDS_EARLY, ours[unit]["log"]
        assert set(lost) <= explained, (unit, sorted(set(lost) - explained), ours[unit]["log"])
        assert set(gained) <= ROOT_ONLY, (unit, sorted(gained))


def test_smoke_in_enclave(scone, tmp_path):
    """redis-server in SIM answers redis-cli: SET/GET/INCR/LPUSH/LRANGE, then SHUTDOWN NOSAVE."""
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    tree = built(redis.build_tree, scone)
    assert is_enclave(tree / "src" / "redis-server")
    port = server.free_port()
    cmd = [str(tree / "src" / "redis-server"), "--port", str(port), "--bind", "127.0.0.1",
           "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    cli = [str(tree / "src" / "redis-cli"), "-p", str(port)]
    with open(tmp_path / "server.log", "w") as log, \
            server.running(cmd, port, scone.environ(redis.ALLOW), log) as proc:
        def ask(*args):
            out = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            return out.stdout
        assert ask("SET", "k", "v") == "OK\n"
        assert ask("GET", "k") == "v\n"
        assert ask("INCRBY", "n", "41") == "41\n" and ask("INCR", "n") == "42\n"
        assert ask("RPUSH", "l", "a", "b", "c") == "3\n"
        assert ask("LRANGE", "l", "0", "-1") == "a\nb\nc\n"
        assert ask("DBSIZE") == "3\n"
        subprocess.run([*cli, "SHUTDOWN", "NOSAVE"], capture_output=True, timeout=60)
        assert proc.wait(timeout=30) == 0, (tmp_path / "server.log").read_text()[-2000:]


def test_one_unit_in_enclave(scone):
    """One unit of redis's own suite for CI: unit/keyspace, whose 53 tests
    (all passing natively with plain musl, 29 Nov 2026) need no fork."""
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    res = redis.run_unit(built(redis.build_tree, scone), scone, "unit/keyspace", slot=7)
    assert (res["err"], res["exception"], len(res["ok"])) == ([], None, 53), res["log"]
