"""A host that lies about time (the hostile starter, SCONE_HOSTILE=time:
its time page jumps a second back every other tick, is out of range every
fourth, and claims a TSC rate a thousand times too high): the enclave's
monotonic clock still never goes back, across threads, and its real time
still follows the host's own clock (the bad samples are refused)."""

import subprocess
import time

import pytest


def _env(enclave_env, exe, profile):
    return enclave_env(SCONE_HOSTILE="time", SCONE_HOSTILE_EXE=str(exe), SCONE_SIM_PROFILE=profile,
                       SCONE_ETHREADS=2)


@pytest.mark.parametrize("profile", ["sgx1", "sgx2"])
def test_monotonic_never_goes_back_under_a_lying_host(hostile, build, enclave_env, profile):
    exe = build("clock_threads.c")
    r = subprocess.run([str(hostile), "20000"], env=_env(enclave_env, exe, profile),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "backwards: shared 0, own 0\nsleeps shorter than asked: 0\n"


@pytest.mark.parametrize("profile", ["sgx1", "sgx2"])
def test_realtime_refuses_out_of_range_samples(hostile, build, enclave_env, profile):
    exe = build("clock_follow.c")
    p = subprocess.Popen([str(hostile)], env=_env(enclave_env, exe, profile), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(20):
            r0 = time.time_ns()
            p.stdin.write("x\n")
            p.stdin.flush()
            real = int(p.stdout.readline().split()[0])
            r1 = time.time_ns()
            # A refused sample costs an exact answer from the host; an
            # accepted lying one is wrong only in the monotonic clocks.
            assert r0 - 20_000_000 <= real <= r1 + 20_000_000, (r0, real, r1)
            time.sleep(0.002)
        p.stdin.close()
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        p.kill()
