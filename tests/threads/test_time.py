"""Time served inside the enclave from the host's time page (DESIGN.md §5
"Time"): the clocks behave as natively (the same program built
--scone-native is the oracle), follow the host's own clocks (Python's, read
around each request), never go back across threads, do not leave the
enclave, and sleeps are never shorter than asked."""

import re
import subprocess
import time
from pathlib import Path

import pytest

PROFILES = ["sgx1", "sgx2"]


@pytest.mark.parametrize("profile", PROFILES)
def test_clocks_agree_with_native(build, enclave_env, profile):
    native = subprocess.run([str(build("clocks.c", native=True))], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    r = subprocess.run([str(build("clocks.c"))], env=enclave_env(SCONE_SIM_PROFILE=profile),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native.stdout
    # What the kernel answers natively (clock_gettime(2)).
    assert "MONOTONIC: read, in order\n" in r.stdout
    assert "boottime >= monotonic: 1\n" in r.stdout
    assert "bad clock: -1\n" in r.stdout


@pytest.mark.parametrize("profile", PROFILES)
def test_clocks_follow_the_host(build, enclave_env, profile):
    """Each read lies between the host's clock just before the request and
    just after the answer, give or take the time page's tick (1 ms) and the
    host's delay in running its time thread (this machine is shared: 20 ms)."""
    p = subprocess.Popen([str(build("clock_follow.c"))], env=enclave_env(SCONE_SIM_PROFILE=profile),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slack = 20_000_000
    try:
        for _ in range(30):
            r0, m0 = time.time_ns(), time.monotonic_ns()
            p.stdin.write("x\n")
            p.stdin.flush()
            line = p.stdout.readline()
            r1, m1 = time.time_ns(), time.monotonic_ns()
            real, mono = map(int, line.split())
            assert r0 - slack <= real <= r1 + slack, (r0, real, r1)
            assert m0 - slack <= mono <= m1 + slack, (m0, mono, m1)
            time.sleep(0.003)
        p.stdin.close()
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        p.kill()


def _switches(pid: int, name: str) -> int:
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == name:
            status = (task / "status").read_text()
            return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    raise AssertionError(f"no thread named {name} in {pid}")


def test_time_thread_parks_while_idle_and_time_stays_true(build, enclave_env):
    """While every ethread sleeps outside, the host's time thread stops
    (1 s of idleness: far fewer than the thousand wake-ups of a 1 ms tick),
    and the reads after each idle spell still follow the host's clocks."""
    p = subprocess.Popen([str(build("clock_follow.c"))], env=enclave_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slack = 20_000_000
    try:
        for i in range(6):
            if i == 3:
                before = _switches(p.pid, "scone-time")
                time.sleep(1.0)
                idle_wakeups = _switches(p.pid, "scone-time") - before
            r0, m0 = time.time_ns(), time.monotonic_ns()
            p.stdin.write("x\n")
            p.stdin.flush()
            real, mono = map(int, p.stdout.readline().split())
            r1, m1 = time.time_ns(), time.monotonic_ns()
            assert r0 - slack <= real <= r1 + slack, (i, r0, real, r1)
            assert m0 - slack <= mono <= m1 + slack, (i, m0, mono, m1)
            time.sleep(0.2)
        p.stdin.close()
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        p.kill()
    assert idle_wakeups < 100, idle_wakeups


@pytest.mark.parametrize("profile", PROFILES)
def test_monotonic_never_goes_back_across_threads(build, enclave_env, profile):
    native = subprocess.run([str(build("clock_threads.c", native=True)), "20000"],
                            capture_output=True, text=True, timeout=120)
    assert native.returncode == 0, native.stderr
    r = subprocess.run([str(build("clock_threads.c")), "200000"],
                       env=enclave_env(SCONE_SIM_PROFILE=profile, SCONE_ETHREADS=2),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native.stdout
    assert r.stdout == "backwards: shared 0, own 0\nsleeps shorter than asked: 0\n"


@pytest.mark.parametrize("profile", PROFILES)
def test_sleeps_last_as_long_as_asked(build, enclave_env, profile):
    """40 sleeps of 5 ms, timed by the host: never less than 200 ms; and
    not far above native musl's time (a loose bound: with the suite running
    on two shared cores, every wake-up can wait for a CPU)."""
    def timed(exe, env):
        p = subprocess.Popen([str(exe), "40", "5000"], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline() == "ready\n"
            t0 = time.monotonic()
            p.stdin.write("go\n")
            p.stdin.flush()
            assert p.stdout.readline() == "done\n"
            took = time.monotonic() - t0
            assert p.wait(timeout=30) == 0, p.stderr.read()
        finally:
            p.kill()
        return took
    native = timed(build("sleeps.c", native=True), None)
    enclave = timed(build("sleeps.c"), enclave_env(SCONE_SIM_PROFILE=profile))
    assert native >= 0.2 and enclave >= 0.2
    assert enclave < 4 * native + 0.2, (enclave, native)


def _syscalls(exe, env, name):
    r = subprocess.run(["strace", "-f", "-c", "-e", f"trace={name}", str(exe), "2000"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    m = re.search(rf"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?{name}$", r.stderr, re.M)
    return int(m.group(1)) if m else 0


@pytest.mark.skipif(subprocess.run(["which", "strace"], capture_output=True).returncode, reason="no strace")
def test_clock_gettime_does_not_leave_the_enclave(build, enclave_env):
    """2000 reads: 2000 system calls natively (musl without the vDSO), next
    to none from the enclave (the host's time thread reads the vDSO)."""
    assert _syscalls(build("clocks.c", native=True), None, "clock_gettime") >= 2000
    assert _syscalls(build("clocks.c"), enclave_env(), "clock_gettime") < 20
