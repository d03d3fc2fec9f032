"""The scheduler under AddressSanitizer + UBSan and ThreadSanitizer (issue 5):
tests/sched/asan drives it from host-libc pthreads as ethreads, with
lthreads made as musl's __clone makes them and musl-style futex locks;
lthread memory and stacks go back to the allocator, so that a late access
is caught, and TSan follows every switch as a fiber."""

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCHED = REPO / "runtime" / "sched"

FLAGS = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
    "tsan": ["-fsanitize=thread", "-DSCONE_SCHED_TSAN"],
}


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    out = tmp_path_factory.mktemp("sched-sanitized")
    built = {}

    def _build(kind):
        if kind not in built:
            exe = out / kind
            srcs = [*map(str, sorted(SCHED.glob("*.c"))), str(SCHED / "ctx.S"),
                    str(HERE / "asan" / "main.c"), str(HERE / "asan" / "lt.S")]
            r = subprocess.run(["gcc", "-O1", "-g", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
                                "-fno-omit-frame-pointer", "-DSCONE_SCHED_NO_CACHE", *FLAGS[kind],
                                f"-I{SCHED}", f"-I{REPO}/runtime/trusted", f"-I{REPO}/runtime/include",
                                *srcs, "-lpthread", "-o", str(exe)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            built[kind] = exe
        return built[kind]

    return _build


@pytest.mark.parametrize("ethreads", [1, 2, 4])
@pytest.mark.parametrize("kind", ["asan", "tsan"])
def test_sanitized_run(sanitized, kind, ethreads):
    env = dict(os.environ, SCHED_ETHREADS=str(ethreads),
               TSAN_OPTIONS="halt_on_error=1 exitcode=66", ASAN_OPTIONS="halt_on_error=1")
    r = subprocess.run([str(sanitized(kind)), "200", "10"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "ok sanitized" in r.stdout, r.stdout + r.stderr[-4000:]
    assert "ThreadSanitizer:" not in r.stderr and "ERROR: AddressSanitizer" not in r.stderr, r.stderr
    assert "runtime error" not in r.stderr, r.stderr
