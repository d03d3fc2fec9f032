"""An idle server (samples/echo_server.c blocked in accept) costs next to no
CPU: sthreads and the ethread spin briefly, then sleep. A resource bound,
generous for a loaded 2-core machine (the goal is under 2%)."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOUND = 5.0      # percent of one core


def _cpu(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime, all threads


def idle_percent(exe, env, seconds=3.0):
    """CPU of the server over `seconds` of idleness, in percent of one core."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = subprocess.Popen([str(exe), str(port)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == f"listening on 127.0.0.1:{port}\n"
        time.sleep(0.5)           # past the spin and back-off phases
        c0, t0 = _cpu(p.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = _cpu(p.pid), time.monotonic()
        assert p.poll() is None, p.stderr.read()
        return 100.0 * (c1 - c0) / (t1 - t0)
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("mode", ["async", "sync", "adaptive"])
def test_idle_server_cpu(build, async_env, mode):
    pct = idle_percent(build(REPO / "samples/echo_server.c"), dict(async_env, SCONE_SYSCALL=mode))
    print(f"idle echo_server, SCONE_SYSCALL={mode}: {pct:.2f}% of a core")
    assert pct < BOUND
