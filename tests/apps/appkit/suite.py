"""Run a program's own test suite with a bound on time, leaving no processes behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int | None, str]:
    """(exit status or None if it ran out of time, stdout+stderr).

    The suite runs in its own session so that on timeout its whole process
    group (harness, servers it started) is killed, not just the first process.
    """
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out + f"\n[suite stopped: no result within {timeout:.0f}s]\n"
