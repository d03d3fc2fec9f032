"""memcached's own ``make test`` steps (libevent built with the same compiler): a few of its files in
the enclave (quick), the whole suite native plain musl against the enclave (SIM, slow)."""

import pytest

from appkit import memcached, probe

from .conftest import built, is_enclave

# For CI: the server's restart file (a writable shared file mapping), and
# protocol files that need no fork.
QUICK_FILES = ("t/restart.t", "t/noreply.t", "t/incrdecr.t", "t/multiversioning.t")


def test_some_files_in_enclave(scone, musl):
    why = probe.threads(scone)
    if why:
        pytest.skip(f"memcached starts worker threads; {why}")
    tree = built(memcached.build_tree, scone)
    ours = memcached.make_test(tree, scone, helpers=built(memcached.build_tree, musl), files=QUICK_FILES)
    assert (ours["prove_rc"], ours["files"], ours["problems"]) == (0, len(QUICK_FILES), {}), ours["log"]
    assert ours["testapp"]["ok"] and not ours["testapp"]["not_ok"], ours["testapp_log"]


@pytest.mark.slow
def test_make_test_native_musl(musl):
    res = memcached.make_test(built(memcached.build_tree, musl), musl)
    assert res["tests"] and not res["problems"] and res["prove_rc"] == 0, res["log"]
    assert res["testapp"]["ok"] and not res["testapp"]["not_ok"], res["testapp_log"]


@pytest.mark.slow
def test_make_test_in_enclave(scone, musl):
    """Every test that passes natively passes in the enclave, apart from the named ones."""
    why = probe.threads(scone)
    if why:
        pytest.skip(f"memcached starts worker threads; {why}")
    tree = built(memcached.build_tree, scone)
    assert is_enclave(tree / "memcached-debug")
    native_tree = built(memcached.build_tree, musl)
    native = memcached.make_test(native_tree, musl)
    ours = memcached.make_test(tree, scone, helpers=native_tree)

    # testapp in the enclave: its in-process tests pass; from its first
    # server start on (fork + execv) it cannot go on.
    own = ours["testapp"]
    first_fork = native["testapp"]["ok"].index(*memcached.TESTAPP_FIRST_FORK)
    assert own["ok"] == native["testapp"]["ok"][:first_fork], ours["testapp_log"]

    assert ours["files"] == native["files"], ours["log"]
    for name, problem in ours["problems"].items():
        if name in memcached.ENCLAVE_FILES_EXPLAINED:
            continue
        assert problem == native["problems"].get(name), (name, problem, ours["log"])
