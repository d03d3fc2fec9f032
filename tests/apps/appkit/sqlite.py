"""SQLite 3 (Debian ``sqlite3``): the ``sqlite3`` shell, and ``testfixture`` for the veryquick suite.

The build's own generator tools (lemon, mksourceid, mkkeywordhash) are
compiled with the same CC, so with ``scone`` they run as enclaves during
the build too. ``testfixture`` links the Tcl built by ``appkit.tcl`` with
the same compiler. SQLite's suite refuses to run as root, so it runs as
``nobody`` in a copy of the tree that user owns.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import build, source, tcl
from .flavour import Flavour

PACKAGE = "sqlite3"
CONFIGURE = ["./configure", "--disable-readline", "--disable-shared"]
# The shell's .system/.shell/.once -e/edit() start processes: ENOSYS at run time.
ALLOW = ("popen", "system")


def build_shell(flavour: Flavour) -> Path:
    """The source tree with the ``sqlite3`` shell built in it."""
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(CONFIGURE + ["--disable-tcl"], src, env)
        build.step(["make", "-j2", "sqlite3"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


def shell(tree: Path, flavour: Flavour, db: Path, sql: str) -> subprocess.CompletedProcess:
    """One ``sqlite3`` shell session on ``db`` reading ``sql`` from stdin."""
    return subprocess.run([str(tree / "sqlite3"), str(db)], input=sql, env=flavour.environ(ALLOW),
                          capture_output=True, text=True, timeout=300)


def build_testfixture(flavour: Flavour) -> Path:
    """The source tree with ``testfixture`` (SQLite + its Tcl test commands + static Tcl)."""
    tcl_lib = tcl.build_tree(flavour)

    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        # ext/misc/zipfile.c wants zlib.h: the zlib Tcl carries (compat/zlib) is linked in already.
        zlib_h = next((tcl_lib.parent.parent).glob("tcl8.6*/compat/zlib"))
        env = flavour.environ(tcl.ALLOW + ALLOW, CPPFLAGS=f"-I{zlib_h}")
        build.step(CONFIGURE + [f"--with-tcl={tcl_lib}"], src, env)
        build.step(["make", "-j2", "testfixture"], src, env)
        return src
    return build.cached(PACKAGE + "-testfixture", flavour, recipe)


# veryquick tests that fail in the enclave only because Tcl's exec or the
# shell needs a child process (fork/execve refused); see tests/apps/RESULTS.md.
NEEDS_CHILD: tuple[str, ...] = ()

_SUMMARY = re.compile(r"^(\d+) errors out of (\d+) tests", re.M)
_FAILURES = re.compile(r"^Failures on these tests: (.*)$", re.M)


def veryquick(tree: Path, flavour: Flavour, timeout: float = 4 * 3600) -> dict:
    """Run ``testfixture test/veryquick.test`` as ``nobody``; returns counts and failing test names."""
    scratch = Path(tempfile.mkdtemp(prefix="scone-sqlite-"))
    try:
        copy = scratch / "sqlite"
        shutil.copytree(tree, copy, symlinks=True)
        # The interpreter's script library (init.tcl) must be readable by nobody too.
        shutil.copytree(tcl.build_tree(flavour) / "tcl8.6", scratch / "tcllib")
        subprocess.run(["chown", "-R", "nobody:nogroup", str(scratch)], check=True)
        env = flavour.environ(tcl.ALLOW + ALLOW, HOME=str(scratch), TCL_LIBRARY=str(scratch / "tcllib"))
        out = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              "./testfixture", "test/veryquick.test"],
                             cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    m = _SUMMARY.search(out.stdout)
    fails = _FAILURES.search(out.stdout)
    errors, total = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    return {"rc": out.returncode, "errors": errors, "tests": total,
            "failures": fails.group(1).split() if fails else [],
            "log": out.stdout[-4000:] + out.stderr[-2000:]}
