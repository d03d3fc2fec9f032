"""The compile path, run for real: musl headers, gcc's diagnostics, no heavy imports."""

import subprocess
import sys
from pathlib import Path

from .conftest import run

HEAVY = ("lief", "elftools", "capstone", "rich", "cryptography", "click")


def test_preprocess_uses_the_sysroot_headers(scone_gcc, sysroot, tmp_path, scone_env):
    src = tmp_path / "a.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\nint x;\n")
    out = run([scone_gcc, "-E", str(src)], env=scone_env)
    assert out.returncode == 0, out.stderr
    files = {ln.split('"')[1] for ln in out.stdout.splitlines() if ln.startswith("# ")}
    assert str(sysroot / "include" / "stdio.h") in files
    assert not any(f.startswith("/usr/include/") for f in files), files


def test_musl_macros_not_glibc(scone_gcc, tmp_path, scone_env):
    src = tmp_path / "a.c"
    src.write_text("#include <stdio.h>\n#ifdef __GLIBC__\n#error glibc\n#endif\nint main(void){return 0;}\n")
    out = run([scone_gcc, "-c", str(src), "-o", str(tmp_path / "a.o")], env=scone_env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.o").read_bytes()[:4] == b"\x7fELF"


def test_user_isystem_comes_before_libc(scone_gcc, tmp_path, scone_env):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "stdio.h").write_text("#define MINE 1\n")
    src = tmp_path / "a.c"
    src.write_text("#include <stdio.h>\n#ifndef MINE\n#error not mine\n#endif\n")
    out = run([scone_gcc, "-isystem", str(inc), "-fsyntax-only", str(src)], env=scone_env)
    assert out.returncode == 0, out.stderr


def test_gcc_diagnostics_and_status_pass_through(scone_gcc, tmp_path, scone_env):
    src = tmp_path / "bad.c"
    src.write_text("int main(void) { return undeclared; }\n")
    ours = run([scone_gcc, "-c", str(src), "-o", str(tmp_path / "bad.o")], env=scone_env)
    plain = run(["gcc", "-c", str(src), "-o", str(tmp_path / "bad.o")], env=scone_env)
    assert ours.returncode == plain.returncode == 1
    assert ours.stderr == plain.stderr  # gcc's own diagnostics, untouched
    assert "undeclared" in ours.stderr
    assert not (tmp_path / "bad.o").exists()
    assert "Traceback" not in ours.stderr


def test_stdin_source(scone_gcc, tmp_path, scone_env):
    out = subprocess.run([scone_gcc, "-x", "c", "-c", "-", "-o", str(tmp_path / "s.o")],
                         input="int f(void){return 1;}\n", capture_output=True, text=True, env=scone_env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s.o").exists()


def test_missing_source_is_one_line(scone_gcc, tmp_path, scone_env):
    out = run([scone_gcc, "-c", "nothere.c"], cwd=tmp_path, env=scone_env)
    assert out.returncode == 2
    assert out.stderr == f"scone-gcc: error: nothere.c: no such input file (in {tmp_path}); check the name and path\n"


def test_response_file_on_the_command_line(scone_gcc, tmp_path, scone_env):
    (tmp_path / "a.c").write_text("int v = VALUE;\n")
    (tmp_path / "args").write_text("-c a.c '-DVALUE=(1 + 2)' -o \"a b.o\"\n")
    out = run([scone_gcc, "@args"], cwd=tmp_path, env=scone_env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a b.o").exists()
    missing = run([scone_gcc, "@nope"], cwd=tmp_path, env=scone_env)
    assert missing.returncode == 2 and missing.stderr.startswith("scone-gcc: error: @nope: cannot read")
    assert missing.stderr.count("\n") == 1


def test_compile_path_imports_nothing_heavy(scone_gcc, sysroot, tmp_path, scone_env):
    (tmp_path / "a.c").write_text("int x;\n")
    env = dict(scone_env, PYTHONPROFILEIMPORTTIME="1")
    # The Python driver beside the launcher: what serves every call the
    # launcher does not (tests/driver/test_launcher.py).
    driver = str(Path(scone_gcc).with_name("scone-gcc-driver"))
    out = run([sys.executable, "-X", "importtime", driver, "-c", "a.c", "-o", "a.o"],
              cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    imported = {ln.split("|")[-1].strip() for ln in out.stderr.splitlines() if ln.startswith("import time:")}
    assert "scone_cc.driver.options" in imported  # the trace did cover the driver
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == []
    assert "scone_cc.driver.link" not in imported


def test_failing_sysroot_build_is_one_error(scone_gcc, tmp_path, scone_env):
    """A musl tarball with the wrong checksum: the build stops, nothing is trusted."""
    (tmp_path / "a.c").write_text("int x;\n")
    (tmp_path / "musl.tar.gz").write_bytes(b"not musl")
    env = dict(scone_env, SCONE_CACHE=str(tmp_path / "cache"), SCONE_MUSL_TARBALL=str(tmp_path / "musl.tar.gz"))
    env.pop("SCONE_SYSROOT", None)
    for _ in range(2):  # the second call must fail the same way, not use a half-built sysroot
        out = run([scone_gcc, "-c", "a.c"], cwd=tmp_path, env=env)
        assert out.returncode == 2
        errors = [ln for ln in out.stderr.splitlines() if "error" in ln]
        assert len(errors) == 1 and errors[0].startswith("scone-gcc: error: "), out.stderr
        assert "musl.tar.gz" in errors[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "a.o").exists()


def test_bad_sysroot_override_is_one_error(scone_gcc, tmp_path, scone_env):
    out = run([scone_gcc, "-c", "a.c"], cwd=tmp_path, env=dict(scone_env, SCONE_SYSROOT=str(tmp_path)))
    assert out.returncode == 2
    assert out.stderr.startswith(f"scone-gcc: error: SCONE_SYSROOT={tmp_path}: ")
    assert out.stderr.count("\n") == 1
