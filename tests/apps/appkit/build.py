"""Cached builds: one tree per (program, flavour key), reused until the key changes.

A build runs in place under the cache and is trusted only once its stamp
exists; a tree without a stamp (a failed or interrupted build) is wiped and
rebuilt. A lock file serialises concurrent test runs on one tree.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from .flavour import Flavour
from .paths import apps_cache

STAMP = ".scone-built"


class BuildFailed(RuntimeError):
    """A configure or make step failed; the message carries the command and its output tail."""


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def cached(program: str, flavour: Flavour, recipe: Callable[[Path], Path]) -> Path:
    """The built tree of ``program`` for ``flavour``: ``recipe(workdir)`` builds it once.

    ``recipe`` unpacks into ``workdir``, builds, and returns the tree the
    program's module works with.
    """
    base = apps_cache() / "build" / flavour.key
    work = base / program
    with _locked(base / f"{program}.lock"):
        stamp = work / STAMP
        if stamp.exists():
            return work / stamp.read_text().strip()
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        tree = recipe(work)
        stamp.write_text(str(tree.relative_to(work)) + "\n")
        return tree


def step(cmd: list[str], cwd: Path, env: dict, timeout: float = 3600) -> str:
    """Run one build step; raises BuildFailed naming the step and showing its output tail."""
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise BuildFailed(f"{' '.join(cmd)} in {cwd} failed ({out.returncode}):\n"
                          f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout
