"""Fixtures of the file-system shield tests: the C library's host harness
(built once per session with ASan and UBSan) and helpers to run both sides."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "runtime" / "shield" / "fs"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def sfs_tool(tmp_path_factory) -> Path:
    """tests/fs/sfs_tool.c linked with the library and libcrypto callbacks."""
    out = tmp_path_factory.mktemp("sfs") / "sfs_tool"
    cmd = ["gcc", "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           f"-I{LIB}", f"-I{HERE}", str(LIB / "sfs_file.c"), str(LIB / "sfs_volume.c"),
           str(HERE / "host_cb.c"), str(HERE / "sfs_tool.c"), "-lcrypto", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def run_tool(tool, *args, random_file=None, stdin=None):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    if random_file:
        env["SFS_TEST_RANDOM"] = str(random_file)
    return subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True,
                          errors="surrogateescape", env=env, input=stdin)


def refusal(stderr: str) -> str:
    """The status name of a one-line refusal "where: code: text"."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    return lines[0].split(": ")[1]
