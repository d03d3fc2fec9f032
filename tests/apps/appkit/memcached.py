"""memcached (Debian ``memcached``) against libevent built with the same compiler; its own ``make test``.

memcached's worker, LRU-crawler and maintenance threads need
``pthread_create``: in the enclave it runs once threads do.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import build, libevent, source, suite
from .flavour import Flavour

PACKAGE = "memcached"
# -d daemonises with fork; memcached-debug's test-only "debug" commands call
# system(); the test helpers testapp (fork + execv) and timedrun (execvp)
# start processes, so in the enclave they fail with ENOSYS.
ALLOW = ("fork", "system", "execv", "execvp")


def build_tree(flavour: Flavour) -> Path:
    prefix = libevent.build_prefix(flavour)

    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW)
        build.step(["./configure", f"--with-libevent={prefix}", "--disable-sasl", "--disable-extstore"],
                   src, env)
        build.step(["make", "-j2", "memcached", "memcached-debug", "sizes", "testapp", "timedrun"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


_SUMMARY = re.compile(r"^Files=(\d+), Tests=(\d+)", re.M)
_NOT_OK = re.compile(r"^(not ok \d+.*)$", re.M)


def make_test(tree: Path, flavour: Flavour, timeout: float = 1800) -> dict:
    """``make test`` (testapp + the Perl t/*.t): test count and every ``not ok`` line."""
    rc, text = suite.run(["make", "test"], tree, flavour.environ(ALLOW), timeout)
    m = _SUMMARY.search(text)
    tests = int(m.group(2)) if m else None
    failed = _NOT_OK.findall(text)
    return {"rc": rc, "tests": tests, "failed": failed,
            "passed": tests - len(failed) if tests is not None else None, "log": text[-6000:]}
