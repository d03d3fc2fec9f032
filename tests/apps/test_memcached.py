"""memcached's own ``make test`` (libevent built with the same compiler): native now, SIM once threads run."""

import pytest

from appkit import memcached, probe

from .conftest import built, is_enclave

pytestmark = pytest.mark.slow


def test_make_test_native_musl(musl):
    res = memcached.make_test(built(memcached.build_tree, musl), musl)
    assert res["tests"] and not res["failed"] and res["rc"] == 0, res["log"]


def test_make_test_in_enclave(scone, musl):
    why = probe.threads(scone)
    if why:
        pytest.skip(f"memcached starts worker threads; {why}")
    tree = built(memcached.build_tree, scone)
    assert is_enclave(tree / "memcached")
    ours = memcached.make_test(tree, scone)
    native = memcached.make_test(built(memcached.build_tree, musl), musl)
    assert (ours["rc"], ours["tests"], ours["failed"]) == (native["rc"], native["tests"], native["failed"]), ours["log"]
