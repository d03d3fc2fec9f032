"""Redis 7's own ``./runtest``: native plain musl now; in SIM once threads run in the enclave."""

import pytest

from appkit import probe, redis

from .conftest import built, is_enclave

pytestmark = pytest.mark.slow

# Fail natively too, as root only: SHUTDOWN's save-failure checks rely on
# an unwritable directory, which root can write.
ROOT_ONLY = {"SHUTDOWN will abort if rdb save failed on signal",
             "SHUTDOWN will abort if rdb save failed on shutdown command",
             "SHUTDOWN can proceed if shutdown command was with nosave or force"}


def test_runtest_native_musl(musl):
    res = redis.runtest(built(redis.build_tree, musl), musl)
    assert res["passed"] > 2000, res["log"]
    assert set(res["failed"]) <= ROOT_ONLY, res["log"]


def test_runtest_in_enclave(scone, musl):
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    tree = built(redis.build_tree, scone)
    assert is_enclave(tree / "src" / "redis-server")
    ours = redis.runtest(tree, scone)
    native = redis.runtest(built(redis.build_tree, musl), musl)
    assert ours["passed"] == native["passed"], ours["log"]
    assert set(ours["failed"]) <= set(native["failed"]) | ROOT_ONLY, ours["log"]
