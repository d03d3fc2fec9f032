"""zlib (Debian ``zlib``): ``./configure --static && make``; its suite is ``make test``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from . import build, source
from .flavour import Flavour

PACKAGE = "zlib"


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ()
        build.step(["./configure", "--static"], src, env)
        build.step(["make", "-j2", "example", "minigzip", "example64", "minigzip64"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


def run_suite(tree: Path, flavour: Flavour) -> dict:
    """``make test``: example and minigzip, 32- and 64-bit offsets. Counts the OK banners."""
    out = subprocess.run(["make", "test"], cwd=tree, env=flavour.environ(),
                         capture_output=True, text=True, timeout=600)
    passed = len(re.findall(r"\*\*\* zlib (?:64-bit )?test OK \*\*\*", out.stdout))
    failed = len(re.findall(r"\*\*\* zlib (?:64-bit )?test FAILED \*\*\*", out.stdout + out.stderr))
    return {"rc": out.returncode, "passed": passed, "failed": failed,
            "log": out.stdout[-3000:] + out.stderr[-3000:]}
