"""A hostile host, built from the starter's own sources with -DSCONE_HOSTILE
(never part of the shipped starter), answers the enclave's calls with
oversized lengths, impossible descriptors, flipped cookies, responses for
slots never posted and garbage in out-buffers. The enclave aborts with a
message naming what was wrong, or returns only what fits its buffers."""

import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROGS = HERE / "progs"

# mode -> what the abort message must say (from the call's own contract)
ABORTS = {
    "size": "system call read (0): result 4160, at most 64 allowed",
    "iov": "system call readv (19): byte count 17, at most 16 allowed",
    "fd": "system call dup (32): descriptor",
    "zero": "system call close (3): result 5, at most 0 allowed",
    "socklen": "system call getsockname (51): socklen_t 4096, at most 128 allowed",
    "msg": "system call recvmsg (47): msg_controllen 1048576, at most 64 allowed",
    "cookie": "which this enclave has not issued or already answered",
    "status": "which this enclave has not issued or already answered",
    "index": "the host reports 2 responses but only 1 requests are outstanding",
}


@pytest.fixture(scope="module")
def victim(build):
    return build(PROGS / "victim.c")


def _attack(hostile, victim, env, mode):
    e = dict(env, SCONE_HOSTILE=mode, SCONE_HOSTILE_EXE=str(victim))
    return subprocess.run([str(hostile), mode], input="hello\n", env=e, capture_output=True,
                          text=True, timeout=60)


def test_honest_run_of_the_hostile_build(hostile, victim, async_env):
    r = _attack(hostile, victim, async_env, "none")
    assert r.returncode == 0 and "getppid 1" in r.stdout, r.stderr


@pytest.mark.parametrize("mode", sorted(ABORTS))
def test_enclave_aborts_on_a_broken_contract(hostile, victim, async_env, mode):
    r = _attack(hostile, victim, async_env, mode)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == f"start {mode}\n"   # the lie was never passed on
    assert r.stderr.startswith("scone: enclave aborted: scone: "), r.stderr
    assert ABORTS[mode] in r.stderr, r.stderr


def test_garbage_in_an_out_buffer_stays_in_it(hostile, victim, async_env):
    r = _attack(hostile, victim, async_env, "garbage")
    assert r.returncode == 0, r.stderr
    assert "uname 0 sysname[0] A canaries intact" in r.stdout


def test_shipped_starter_has_no_hostile_code(sysroot):
    data = (sysroot / "libexec" / "scone-starter").read_bytes()
    assert b"SCONE_HOSTILE" not in data
