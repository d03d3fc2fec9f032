"""Cached builds: one tree per (program, flavour key), reused until the key changes.

A build runs in place under the cache and is trusted only once its stamp
exists; a tree without a stamp (a failed or interrupted build) is wiped and
rebuilt. A lock file serialises concurrent test runs on one tree. The stamp also
records a hash of the recipe and the shared build code, so that
changing how a program is built rebuilds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import shutil
import sys
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
    version = _recipe_hash(recipe)
    with _locked(base / f"{program}.lock"):
        stamp = work / STAMP
        if stamp.exists():
            rel, _, seen = stamp.read_text().partition("\n")
            if seen.strip() == version:
                return work / rel
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        tree = recipe(work)
        stamp.write_text(f"{tree.relative_to(work)}\n{version}\n")
        return tree


def _recipe_hash(recipe: Callable) -> str:
    """The recipe's own source, the constants of its module, and the shared build code.

    Not the whole module: changing how a suite is run must not rebuild.
    """
    here = Path(__file__).resolve().parent
    module = sys.modules[recipe.__module__]
    h = hashlib.sha256(inspect.getsource(recipe).encode())
    for name, value in sorted(vars(module).items()):
        if name.isupper() and isinstance(value, (str, tuple, list)):
            h.update(f"{name}={value!r}\n".encode())
    for n in ("flavour.py", "compat.py"):
        h.update((here / n).read_bytes())
    return h.hexdigest()[:16]


def step(cmd: list[str], cwd: Path, env: dict, timeout: float = 3600) -> str:
    """Run one build step; raises BuildFailed naming the step and showing its output tail."""
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise BuildFailed(f"{' '.join(cmd)} in {cwd} failed ({out.returncode}):\n"
                          f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout
