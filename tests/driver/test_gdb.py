"""Debugging a scone binary: scone-gdb (or gdb -x the shipped script) names
the enclave's functions, files and lines in a segfaulting program's
backtrace, in SIM."""

import re
import shutil

import pytest

from .conftest import run

SEG = """\
#include <stdio.h>
static int *volatile nowhere;
__attribute__((noinline)) static int crash(int x) { return *nowhere + x; }
__attribute__((noinline)) int middle(int x) { return crash(x + 1) * 2; }
int main(int argc, char **argv) { (void)argv; puts("before"); fflush(stdout); return middle(argc); }
"""


@pytest.fixture
def seg(scone_gcc, scone_env, tmp_path):
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed (sh setup.sh installs it)")
    (tmp_path / "seg.c").write_text(SEG)
    env = dict(scone_env, SCONE_MODE="SIM")
    env.pop("SCONE_NATIVE", None)
    out = run([scone_gcc, "-g", "-O1", "seg.c", "-o", "seg"], cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    return tmp_path, env


def frames(text: str) -> list[str]:
    """'function file:line' of each backtrace line."""
    return [f"{m.group(1)} {m.group(2)}" for m in
            re.finditer(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) \(.*\) at (\S+:\d+)$", text, re.M)]


@pytest.mark.parametrize("how", ["scone-gdb", "gdb -x"])
def test_backtrace_names_enclave_code(scone_gcc, seg, how):
    cwd, env = seg
    if how == "scone-gdb":
        cmd = ["scone-gdb"]
    else:
        script = run([scone_gcc, "--scone-print=gdb-script"], env=env).stdout.strip()
        cmd = ["gdb", "-x", script]
    out = run([*cmd, "-q", "-nx", "-batch", "-ex", "run", "-ex", "bt", "./seg"], cwd=cwd, env=env,
              timeout=120)
    if "ptrace: Operation not permitted" in out.stderr:
        pytest.skip("ptrace is not permitted here")
    assert "SIGSEGV" in out.stdout, out.stdout + out.stderr
    assert frames(out.stdout)[:3] == ["crash seg.c:3", "middle seg.c:4", "main seg.c:5"], \
        out.stdout + out.stderr
