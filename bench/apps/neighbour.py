"""A CPU-bound neighbour for the whole of a benchmark: ``stress-ng --cpu 1``
when installed, else a busy loop; every configuration then runs beside the
same neighbour, native included, so that ratios stay comparable."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys


@contextlib.contextmanager
def busy(on: bool = True):
    """Run one CPU-bound process while the block runs (nothing if not on)."""
    if not on:
        yield None
        return
    if shutil.which("stress-ng"):
        cmd = ["stress-ng", "--cpu", "1", "--quiet"]
    else:
        cmd = [sys.executable, "-c", "while True: pass"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield p
    finally:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
