"""gcov with scone-gcc: --coverage links (libgcov inside the libc group), the
notes and data files carry gcc's names, and the enclave writes its .gcda
through the system-call path; the reports equal plain gcc's."""

import os
import shutil

import pytest

from .conftest import run

PROG = """\
#include <stdio.h>
static int sq(int x) { return x * x; }
int main(int argc, char **argv) {
    int s = 0;
    for (int i = 0; i < 10; i++)
        s += sq(i);
    if (argc > 5)
        puts("many");
    printf("%d\\n", s);
    return 0;
}
"""
OTHER = "int d(void) { return 1; }\n"


def report(cwd, env) -> list[str]:
    out = run(["gcov", "c.c"], cwd=cwd, env=env)
    assert out.returncode == 0, out.stderr
    assert "Lines executed:100.00% of 9" in out.stdout, out.stdout
    return (cwd / "c.c.gcov").read_text().splitlines()


@pytest.mark.parametrize("mode", ["native", "enclave"])
def test_gcov_counts_equal_gccs(scone_gcc, scone_env, tmp_path, mode):
    if shutil.which("gcov") is None:
        pytest.skip("gcov is not installed")
    env = dict(scone_env, SCONE_MODE="SIM")
    env.pop("SCONE_NATIVE", None)
    flag = ["--scone-native"] if mode == "native" else []
    ref, ours = tmp_path / "gcc", tmp_path / mode
    for d in (ref, ours):
        d.mkdir()
        (d / "c.c").write_text(PROG)
    assert run(["gcc", "--coverage", "c.c", "-o", "c"], cwd=ref).returncode == 0
    # Compile, then link: the way builds do it.
    out = run([scone_gcc, "--coverage", "-c", "c.c"], cwd=ours, env=env)
    assert out.returncode == 0, out.stderr
    out = run([scone_gcc, *flag, "--coverage", "c.o", "-o", "c"], cwd=ours, env=env)
    assert out.returncode == 0, out.stderr
    # Twice: the second run reads and merges the first run's counts.
    for args in (["1", "2", "3", "4", "5"], []):
        for d in (ref, ours):
            r = run(["./c", *args], cwd=d, env=env)
            assert r.returncode == 0 and r.stdout.endswith("285\n"), r.stderr
    assert (ours / "c.gcda").is_file()
    want = report(ref, env)
    got = report(ours, env)
    assert got == want
    assert "       20:    2:static int sq(int x) { return x * x; }" in got
    assert "        1:    8:        puts(\"many\");" in got


@pytest.mark.parametrize("words", [["c.c", "-o", "c"], ["c.c", "-o", "x"], ["c.c", "d.c", "-o", "c"],
                                   ["c.c", "-o", "o/x"], ["c.c", "-o", "o/c.exe"], ["c.c"]])
@pytest.mark.parametrize("mode", ["native", "enclave"])
def test_aux_files_are_named_as_by_gcc(scone_gcc, scone_env, tmp_path, words, mode):
    env = dict(scone_env)
    env.pop("SCONE_NATIVE", None)
    flag = ["--scone-native"] if mode == "native" else []
    names = {}
    for who, cmd in (("gcc", ["gcc"]), ("scone", [scone_gcc, *flag])):
        d = tmp_path / who
        (d / "o").mkdir(parents=True)
        (d / "c.c").write_text(PROG)
        (d / "d.c").write_text(OTHER)
        out = run([*cmd, "--coverage", *words], cwd=d, env=env)
        assert out.returncode == 0, out.stderr
        names[who] = sorted(os.path.relpath(os.path.join(r, f), d)
                            for r, _, fs in os.walk(d) for f in fs if f.endswith(".gcno"))
    assert names["scone"] == names["gcc"]
