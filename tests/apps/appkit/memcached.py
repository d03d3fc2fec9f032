"""memcached (Debian ``memcached``) against libevent built with the same compiler; its own ``make test``.

``make test`` is three steps: ``./sizes``, ``./testapp`` (C: in-process
unit tests, then protocol tests against a ``memcached-debug`` it starts with
fork + execv through ``./timedrun``), and ``prove t`` (Perl tests; each
starts ``timedrun 600 memcached-debug ...`` with fork + exec).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from . import build, libevent, source, suite
from .flavour import Flavour

PACKAGE = "memcached"
# -d daemonises with fork; memcached-debug's test-only "debug" commands call
# system(); the test helpers testapp (fork + execv) and timedrun (execvp)
# start processes, so in the enclave they fail with ENOSYS.
ALLOW = ("fork", "system", "execv", "execvp")
# The enclave heap: memcached's default item memory alone is 64 MiB (-m 64),
# and t/restart.t maps a 64 MiB memory file; with the default 64 MiB heap the
# enclave runs out ("SERVER_ERROR out of memory storing object").
HEAP = "512M"


def build_tree(flavour: Flavour) -> Path:
    prefix = libevent.build_prefix(flavour)

    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW, SCONE_HEAP=HEAP)
        build.step(["./configure", f"--with-libevent={prefix}", "--disable-sasl", "--disable-extstore"],
                   src, env)
        build.step(["make", "-j2", "memcached", "memcached-debug", "sizes", "testapp", "timedrun"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


# testapp's first test that starts a server, and why it cannot in the enclave
# (a dict: module-level strings would enter the build's cache key).
TESTAPP_FIRST_FORK = {"issue_44": "testapp starts memcached-debug -d with fork + execv; -d forks again"}
# prove files whose result differs in the enclave, each with its reason.
ENCLAVE_FILES_EXPLAINED: dict[str, str] = {
    "t/daemonize.t": "starts memcached-debug -d: daemonising forks (ENOSYS), so the server exits",
}

_TAP = re.compile(r"^(ok|not ok) (\d+) - (.*?)\s*$", re.M)
_FILES = re.compile(r"^Files=(\d+), Tests=(\d+)", re.M)
_SUMMARY = re.compile(r"^(t/\S+\.t)\s+\(Wstat: (\d+)(?: \([^)]*\))? Tests: (\d+) Failed: (\d+)\)\n"
                      r"((?:\s{2,}.*\n?)*)", re.M)
_FAILED_LINE = re.compile(r"Failed tests?:\s+([\d, -]+)")
_PARSE_ERR = re.compile(r"Parse errors: (.*)")


def tap(text: str) -> dict:
    """testapp's TAP output -> ``{"ok": [names], "not_ok": [names], "planned": n}``. Pure."""
    plan = re.search(r"^1\.\.(\d+)$", text, re.M)
    res = {"ok": [], "not_ok": [], "planned": int(plan.group(1)) if plan else None}
    for status, _, name in _TAP.findall(text):
        res["ok" if status == "ok" else "not_ok"].append(name)
    return res


def prove_summary(text: str) -> dict:
    """``prove``'s output -> test count and, per file, failed test numbers and parse errors. Pure.

    A file that dies early shows as a parse error ("Bad plan ...") with the
    tests it never ran missing from the count.
    """
    m = _FILES.search(text)
    files = {}
    for name, wstat, tests, failed, rest in _SUMMARY.findall(text):
        nums = []
        for spec in _FAILED_LINE.findall(rest):
            for part in spec.replace(" ", "").split(","):
                if part:
                    lo, _, hi = part.partition("-")
                    nums.extend(range(int(lo), int(hi or lo) + 1))
        pe = _PARSE_ERR.search(rest)
        files[name] = {"wstat": int(wstat), "ran": int(tests), "failed": nums,
                       "parse_error": pe.group(1).strip() if pe else None}
    return {"files": int(m.group(1)) if m else None, "tests": int(m.group(2)) if m else None,
            "problems": files}


def _workspace(tree: Path, helpers: Path) -> Path:
    """A copy of the build tree, with ``timedrun`` taken from ``helpers``.

    The Perl tests and testapp start the server through ``./timedrun``
    (a test helper: fork, execvp, alarm). In the enclave it cannot start
    anything, so for the enclave runs the native helper starts the enclave
    ``memcached-debug``: the server under test stays the enclave binary.
    """
    ws = Path(tempfile.mkdtemp(prefix="mc", dir="/tmp"))
    shutil.copytree(tree, ws / "b", symlinks=True)
    (ws / "b" / "timedrun").unlink()
    shutil.copy2(helpers / "timedrun", ws / "b" / "timedrun")
    return ws / "b"


def make_test(tree: Path, flavour: Flavour, helpers: Path | None = None, jobs: int = 2,
              timeout: float = 2400, files: tuple[str, ...] = ("t",)) -> dict:
    """The steps of ``make test``: sizes, testapp, ``prove -j<jobs> <files>``.

    Run as root (as here), each test server gets ``-u root`` and drops its
    privileges with setgroups/setgid/setuid after its threads started (in
    the enclave that hung until the host applied credential calls to all
    its threads: ``repro/setid_threads.c``).

    ``helpers``: a native build tree whose ``timedrun`` starts this tree's
    ``memcached-debug`` (needed for the enclave, which cannot fork).
    testapp is this tree's own: in the enclave its in-process tests run and
    it stops at its first server start (fork + execv; its first one,
    ``issue_44``, also needs the server's ``-d``, which forks), so its
    protocol tests cannot run against the enclave server.
    """
    ws = _workspace(tree, helpers or tree)
    # memcached-debug is built with --coverage: its .gcda files go to the copy.
    env = flavour.environ(ALLOW, GCOV_PREFIX=str(ws / "gcov"), HOME=str(ws))
    try:
        rc_sizes, sizes = suite.run(["./sizes"], ws, env, 60)
        _, own = suite.run(["./testapp"], ws, env, 600)
        rc, text = suite.run(["prove", "-j", str(jobs), *files], ws, env, timeout)
    finally:
        shutil.rmtree(ws.parent, ignore_errors=True)
    summary = prove_summary(text)
    return {"sizes_rc": rc_sizes, "testapp": tap(own), "testapp_log": own[-1500:],
            "prove_rc": rc, **summary, "log": text[-6000:]}
