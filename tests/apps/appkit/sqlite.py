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
import time
from pathlib import Path

from . import build, source, tcl
from .flavour import Flavour

PACKAGE = "sqlite3"
CONFIGURE = ["./configure", "--disable-readline", "--disable-shared"]
# The shell's .system/.shell/.once -e/edit() start processes: ENOSYS at run time.
ALLOW = ("popen", "system")
# The suite holds more than the default enclave sizes allow: oserror.test
# opens 20,000 connections (1.2 GB resident natively), and select7.test
# compiles a 500-term compound SELECT whose parser recursion needs more
# than the default 256 KiB stack (natively 8 MiB).
HEAP = "2G"
STACK = "8M"


def build_shell(flavour: Flavour) -> Path:
    """The source tree with the ``sqlite3`` shell built in it."""
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(CONFIGURE + ["--disable-tcl"], src, env)
        build.step(["make", "-j2", "sqlite3"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


def build_speedtest1(flavour: Flavour) -> Path:
    """The tree with SQLite's own benchmark ``speedtest1`` (test/speedtest1.c
    and the amalgamation). The enclave build is linked with an encrypted
    region at a placeholder prefix, so the encrypted-file shield is in it:
    re-sign it with ``scone-sign sign --fs PREFIX:encrypted`` to place one."""
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(CONFIGURE + ["--disable-tcl"], src, env)
        build.step(["make", "sqlite3.c"], src, env)
        region = ["--scone-fs=/scone-fs-placeholder:encrypted"] if flavour.enclave else []
        build.step([*flavour.cc.split(), "-O2", "-I.", "-o", "speedtest1", "test/speedtest1.c", "sqlite3.c",
                    "-lm", *region], src, env)
        return src
    return build.cached(PACKAGE + "-speedtest1", flavour, recipe)


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
        env = flavour.environ(tcl.ALLOW + ALLOW, CPPFLAGS=f"-I{zlib_h}", SCONE_HEAP=HEAP, SCONE_STACK=STACK)
        build.step(CONFIGURE + [f"--with-tcl={tcl_lib}"], src, env)
        build.step(["make", "-j2", "testfixture"], src, env)
        return src
    return build.cached(PACKAGE + "-testfixture", flavour, recipe)


def build_testfixture_fsshields(flavour: Flavour) -> Path:
    """``testfixture`` linked with an encrypted and an ephemeral placeholder
    region, so with both file shields (an enclave links only the shields
    its policy names): re-signed with ``scone-sign sign --fs`` to run the
    suite in a region of the caller's choosing."""
    tcl_lib = tcl.build_tree(flavour)

    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        zlib_h = next((tcl_lib.parent.parent).glob("tcl8.6*/compat/zlib"))
        env = flavour.environ(tcl.ALLOW + ALLOW, CPPFLAGS=f"-I{zlib_h}", SCONE_HEAP=HEAP, SCONE_STACK=STACK,
                              SCONE_FS="/scone-fs-placeholder:encrypted,/scone-fs-scratch-placeholder:ephemeral")
        build.step(CONFIGURE + [f"--with-tcl={tcl_lib}"], src, env)
        build.step(["nice", "make", "-j2", "testfixture"], src, env)
        return src
    return build.cached(PACKAGE + "-testfixture-fsshields", flavour, recipe)


# What the enclave refuses by design, per veryquick file that ends early and
# per failing test, with the reason (tests/apps/RESULTS.md explains each).
# Dicts, not tuples: build.cached hashes a module's str/tuple/list
# constants into the build recipe, and these lists must not rebuild.
_why_fork = "starts a second testfixture (Tcl open |cmd or exec): fork refused"
ENCLAVE_REFUSED_FILES: dict[str, str] = {f"test/{name}.test": _why_fork for name in (
    "busy2", "exists", "external_reader", "mmap1", "multiplex2", "pager1", "rowallock",
    "savepoint", "schema3", "shared2", "superlock", "syscall", "tkt-5d863f876e",
    "tkt-fc62af4523", "unixexcl", "wal", "wal3", "wal5", "walro", "walro2", "walsetlk")}
_why_child = "a second testfixture (Tcl open |cmd or exec) takes part: fork refused"
_why_after_child = "checks what a test before it left, which needed a second process (fork refused)"
ENCLAVE_REFUSED_TESTS: dict[str, str] = {
    **{t: _why_child for t in (
        "crash8-1.2", "crash8.2.1", "crash8-4.4", "crash8-4.7",   # crashsql: a child crashes on purpose
        "lock2-1.1", "lock4-1.2", "shared9-3.2",                 # launch_testfixture: locks held by a second process
        "tkt4018-1.3", "tkt4018-1.4", "pragma3-201", "symlink-1.3")},
    **{t: _why_after_child for t in (
        "crash8-4.8", "crash8-4.10",
        "lock2-1.3", "lock2-1.4", "lock2-1.5", "lock2-1.6", "lock2-1.7", "lock2-1.8", "lock2-1.10",
        "lock4-1.3", "lock4-999.1", "shared9-3.4", "shared9-3.5", "shared9-3.6",
        "tkt4018-2.2", "pragma3-400", "pragma3-410", "pragma3-420", "pragma3-430")},
}


# Whole families: walcrash4-1.* each run a crashing child (.1) and count
# the rows it wrote (.2).
ENCLAVE_REFUSED_PREFIXES: dict[str, str] = {"walcrash4-1.": _why_child}


def refused_in_enclave(test: str) -> bool:
    """A failing test name RESULTS.md lists as needing what the enclave refuses."""
    return test in ENCLAVE_REFUSED_TESTS or test.startswith(tuple(ENCLAVE_REFUSED_PREFIXES))


_SUMMARY = re.compile(r"^(\d+) errors out of (\d+) tests", re.M)
_FAILURES = re.compile(r"^!?Failures on these tests: (.*)$", re.M)
# Written into the copy's test/ folder: permutations.test finds tester.tcl next to argv0.
_LIST_VERYQUICK = """\
set testdir [file dirname $argv0]
source $testdir/permutations.test
array set o $::testspec(veryquick)
foreach f $o(-files) { puts "FILE $f" }
exit 0
"""


def _first_error(text: str) -> str:
    """The line a Tcl traceback starts with (the error itself), else the last line."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if ln.lstrip().startswith("while executing") and i:
            return lines[i - 1][:200]
    return lines[-1][:200] if lines else ""


def _as_nobody(cmd, cwd, env, timeout):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _tally(out, text: str, file_timeout: float):
    """One file's outcome: (errors, tests, failing names), "skipped", or why it ended early."""
    if out is None:
        return f"no result within {file_timeout:.0f}s"
    m = _SUMMARY.search(out.stdout)
    if not m and out.returncode == 0 and not text.strip():
        return "skipped"
    if not m:
        return _first_error(text) or f"exit {out.returncode}"
    f = _FAILURES.search(out.stdout)
    return int(m.group(1)), int(m.group(2)), f.group(1).split() if f else []


def veryquick(tree: Path, flavour: Flavour, file_timeout: float = 900, progress=None,
              only: tuple[str, ...] = (), workdir: Path | None = None, testfixture: Path | None = None,
              run_env: dict | None = None, extra: dict | None = None) -> dict:
    """The veryquick suite's files, each run by its own ``testfixture`` as ``nobody``.

    One process per file rather than ``test/veryquick.test``: a file that
    dies (a Tcl error escaping a test, as when ``open |cmd`` cannot fork in
    the enclave) then costs only that file instead of ending the whole run.
    Returns totals, the failing test names, and the files that ended
    without their summary line. ``progress(name, outcome)``, if given, is
    called after each file (the enclave run takes tens of minutes).
    ``only``: run just these of the suite's files (``test/select1.test``).
    ``workdir``: the directory the files run in (default: the copy of the
    tree); tester.tcl makes its ``testdir`` folder there, where every test
    database, journal, WAL and -shm file is made, so nobody must be able
    to write it. The suite's files are then named by absolute path
    (``$testdir`` is absolute). ``testfixture``: a binary to run instead of
    the tree's (a re-signed copy); ``run_env``: more variables for it;
    ``extra``: {name: Tcl source} of further test files, written into the
    copy's test/ folder and run after the suite's. ``seconds``: the run's
    wall time.
    """
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="scone-sqlite-"))
    try:
        copy = scratch / "sqlite"
        shutil.copytree(tree, copy, symlinks=True)
        (copy / "test" / "zz_list_veryquick.tcl").write_text(_LIST_VERYQUICK)
        for name, text in (extra or {}).items():
            (copy / "test" / name).write_text(text)
        if testfixture:
            shutil.copy(testfixture, copy / "testfixture")
        # The interpreter's script library (init.tcl) must be readable by nobody too.
        shutil.copytree(tcl.build_tree(flavour) / "tcl8.6", scratch / "tcllib")
        subprocess.run(["chown", "-R", "nobody:nogroup", str(scratch)], check=True)
        env = flavour.environ(tcl.ALLOW + ALLOW, HOME=str(scratch), TCL_LIBRARY=str(scratch / "tcllib"),
                              **(run_env or {}))
        listing = _as_nobody(["./testfixture", "test/zz_list_veryquick.tcl"], copy, env, 300)
        files = [ln.split(" ", 1)[1] for ln in listing.stdout.splitlines() if ln.startswith("FILE ")]
        if only:
            files = [f for f in files if os.path.relpath(os.path.normpath(copy / "test" / f), copy) in only]
        files += list(extra or {})
        errors = tests = 0
        failures, aborted, skipped = [], {}, []
        for path in files:
            # test/ files are listed bare, ext/ ones by absolute path (…/test/../ext/…).
            name = os.path.relpath(os.path.normpath(copy / "test" / path), copy)
            try:
                if workdir is None:
                    out = _as_nobody(["./testfixture", name], copy, env, file_timeout)
                else:
                    out = _as_nobody([str(copy / "testfixture"), str(copy / name)], workdir, env, file_timeout)
                text = out.stdout + out.stderr
            except subprocess.TimeoutExpired:
                out, text = None, ""
            outcome = _tally(out, text, file_timeout)
            if progress:
                progress(name, outcome)
            if outcome == "skipped":
                skipped.append(name)  # e.g. win32*.test: nothing to run on unix
            elif isinstance(outcome, str):
                aborted[name] = outcome
            else:
                errors += outcome[0]
                tests += outcome[1]
                failures += outcome[2]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"files": len(files), "errors": errors, "tests": tests, "failures": failures,
            "aborted": aborted, "skipped": skipped, "log": listing.stderr[-2000:] if not files else "",
            "seconds": round(time.monotonic() - started, 1)}
