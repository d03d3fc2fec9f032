"""Redis 7's own ``./runtest``: native plain musl now; in SIM once threads run in the enclave."""

import subprocess

import pytest

from appkit import probe, redis, server

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
    with open(tmp_path / "server.log", "w") as log, server.running(cmd, port, scone.environ(redis.ALLOW), log):
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
