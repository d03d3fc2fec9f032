"""The sysroot's compiled musl computes as Debian's prebuilt musl does: a
table of math functions on edge inputs, results and floating-point
exception flags, byte for byte (musl-gcc is the independent build)."""

import shutil
import subprocess

import pytest

from .conftest import PROGS


@pytest.mark.skipif(not shutil.which("musl-gcc"), reason="Debian's musl-tools (musl-gcc) is not installed")
def test_math_table_matches_debian_musl(tmp_path):
    src = PROGS / "mathtable.c"
    ref, ours = tmp_path / "ref", tmp_path / "ours"
    for cmd in (["musl-gcc", "-O2", "-fno-builtin", str(src), "-o", str(ref), "-lm"],
                ["scone-gcc", "--scone-native", "-O2", "-fno-builtin", str(src), "-o", str(ours), "-lm"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    want = subprocess.run([str(ref)], capture_output=True, timeout=60, check=True).stdout
    got = subprocess.run([str(ours)], capture_output=True, timeout=60, check=True).stdout
    assert got.count(b"\n") > 5000
    assert got == want
    # musl's fmaf comment: this case must raise underflow (and inexact).
    assert got.endswith(b"fmaf(0x1p-120, 0x1p-120, 0x1p-149) = 0x1p-149 ---UX\n")
