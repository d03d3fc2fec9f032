"""The launcher's compile path (scone_cc/driver/fast.py): the same gcc command
line as the Python driver's, and every other call still the driver's.

Which path served a call is shown without tracing: with PYTHONHOME pointing
nowhere, Python cannot start, so a call succeeds only if the launcher
exec'd gcc itself, and a call the driver must serve fails with Python's own
fatal error.
"""

import os
import re
import time
from pathlib import Path

import pytest

from scone_cc.driver import fast, options

from .conftest import run

NO_PYTHON = {"PYTHONHOME": "/nonexistent-python-home"}

# Compile invocations as build systems write them (zlib's and lighttpd's
# Makefiles, automake's depcomp, configure's checks, ccache), each run with
# -### appended: gcc prints the commands it would run, so the two command
# lines are compared through gcc's own reading of them.
COMPILES = [
    ["-c", "a.c"],
    ["-c", "a.c", "-o", "a.o"],
    ["-O2", "-g", "-Wall", "-D_LARGEFILE64_SOURCE=1", "-DHAVE_HIDDEN", "-I.", "-c", "-o", "sub/a.o", "a.c"],
    ["-DHAVE_CONFIG_H", "-I.", "-I..", "-MT", "a.o", "-MD", "-MP", "-MF", ".deps/a.Tpo", "-c", "-o", "a.o", "a.c"],
    ["-E", "a.c"],
    ["-E", "-dM", "-"],
    ["-E", "-P", "-x", "c", "a.h"],
    ["-S", "a.c", "-o", "-"],
    ["-M", "a.c"],
    ["-MM", "-MG", "a.c"],
    ["-fsyntax-only", "-std=c99", "-pedantic", "a.c"],
    ["--compile", "a.c", "--output=a.o"],
    ["-x", "c", "-c", "a.h", "-o", "h.o"],
    ["-include", "a.h", "-isystem", "inc", "-iquote", "inc", "-c", "a.c"],
    ["-D", "X=1", "-U", "Y", "-I", "inc", "-c", "a.c"],
    ["-fPIC", "-pthread", "-fvisibility=hidden", "-Wl,-z,now", "-lm", "-c", "a.c"],
    ["-c", "a.c", "b.c"],
    ["-c", "it's a.c", "-o", "name with space.o"],
    ["-O0", "-fno-stack-clash-protection", "-c", "a.c"],
    ["-v", "-c", "a.c"],
    ["-c", "-static", "-no-pie", "-r", "a.c"],
    # CC="scone-gcc --scone-native" and link settings on every compile: dropped.
    ["--scone-native", "-c", "a.c", "-o", "a.o", "--scone-heap=1G", "--scone-allow=fork,execve"],
]

# Calls the driver must serve: a link, its own answers, its own options and
# errors, a response file, an input it must name as missing, settings the
# fragment was not written for.
DRIVER_CALLS = [
    (["a.c", "-o", "a"], {}),
    (["a.o"], {}),
    (["--scone-version"], {}),
    (["-print-sysroot"], {}),
    (["--print-multiarch"], {}),
    (["-print-file-name=libc.a"], {}),
    (["-dumpmachine"], {}),
    (["--version"], {}),
    (["--help"], {}),
    (["-c", "a.c", "-print-sysroot"], {}),
    (["-c", "missing.c"], {}),
    (["-c", "a.c", "-m32"], {}),
    (["-c", "a.c", "-shared"], {}),
    (["-c", "a.c", "-o"], {}),
    (["-c", "@args"], {}),
    (["-c", "a.c", "-o", "@out.o"], {}),
    (["-c", "a.c", "--scone-bogus"], {}),
    (["-c", "a.c", "--scone-print=prefix"], {}),
    (["-c", "a.c", "--scone-heap="], {}),
    (["-c", "a.c"], {"SCONE_SYSROOT": "sysroot-override"}),
    (["-c", "a.c"], {"SCONE_HOST_GCC": "gcc"}),
    (["-c", "a.c"], {"SCONE_CACHE": "elsewhere"}),
]


def _untemp(text: str) -> str:
    """gcc -### output with its temporary file names (mkstemp's ccXXXXXX) made equal."""
    return re.sub(r"/cc[A-Za-z0-9]{6}\.", "/ccXXXXXX.", text)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "a.c").write_text('#include <stdio.h>\n#include "a.h"\nint main(void) { return X; }\n')
    (tmp_path / "a.h").write_text("#define X 0\n")
    (tmp_path / "b.c").write_text("int b;\n")
    (tmp_path / "it's a.c").write_text("int c;\n")
    (tmp_path / "args").write_text("a.c\n")
    for d in ("sub", "inc", ".deps"):
        (tmp_path / d).mkdir()
    return tmp_path


@pytest.fixture
def launched(scone_gcc, sysroot, work, scone_env):
    """The installed launcher with its fragment written (one call through the
    driver writes it; sources edited in the last RACY_NS wait that long)."""
    launcher = str(Path(scone_gcc).absolute())
    path = Path(fast.fragment_path(scone_env["SCONE_CACHE"], launcher))
    for _ in range(3):
        out = run([scone_gcc, "-c", "a.c", "-o", "first.o"], cwd=work, env=scone_env)
        assert out.returncode == 0, out.stderr
        if path.is_file():
            break
        time.sleep(2.1)
    assert path.is_file(), f"{path}: the driver did not write the launcher's fragment"
    return launcher


def test_compiles_take_the_fast_path_with_the_drivers_command_line(launched, work, scone_env):
    driver = str(Path(launched).with_name("scone-gcc-driver"))
    stdin = "int x;\n"
    for args in COMPILES:
        fast_out = run([launched, *args, "-###"], cwd=work, env=dict(scone_env, **NO_PYTHON), input=stdin)
        assert fast_out.returncode == 0, (args, fast_out.stderr)
        slow = run([driver, *args, "-###"], cwd=work, env=scone_env, input=stdin)
        assert slow.returncode == 0, (args, slow.stderr)
        assert (fast_out.stdout, _untemp(fast_out.stderr)) == (slow.stdout, _untemp(slow.stderr)), args
        assert "'-nostdinc'" in slow.stderr, args   # the driver's words are there


def _scone_words():
    """Every --scone-* option of the table as a compile would carry it."""
    for opt in options.TABLE:
        if opt.role == options.SCONE:
            yield [opt.name + "1"] if opt.name.endswith("=") else [opt.name]


@pytest.mark.parametrize("words", list(_scone_words()), ids=lambda w: w[0])
def test_scone_options_on_a_compile_are_the_drivers_business_or_dropped(launched, work, scone_env, words):
    """Each --scone-* option on a compile: the launcher's answer is the
    driver's, whether it drops the option (link settings) or the driver acts."""
    driver = str(Path(launched).with_name("scone-gcc-driver"))
    args = ["-c", "a.c", "-o", "--scone-native", *words, "-I", "--scone-crypto", "-###"]
    fast_out = run([launched, *args], cwd=work, env=scone_env)
    slow = run([driver, *args], cwd=work, env=scone_env)
    assert (fast_out.returncode, fast_out.stdout, _untemp(fast_out.stderr)) == \
        (slow.returncode, slow.stdout, _untemp(slow.stderr)), words
    dropped = run([launched, *args], cwd=work, env=dict(scone_env, **NO_PYTHON))
    if words[0].rstrip("1") in fast.ACTING:
        assert "Fatal Python error" in dropped.stderr
    else:
        assert dropped.returncode == 0 and "'--scone-native'" in dropped.stderr, dropped.stderr


def test_a_fast_compile_makes_the_same_object(launched, work, scone_env):
    out = run([launched, "-O2", "-c", "a.c", "-o", "fast.o"], cwd=work, env=dict(scone_env, **NO_PYTHON))
    assert out.returncode == 0, out.stderr
    driver = str(Path(launched).with_name("scone-gcc-driver"))
    out = run([driver, "-O2", "-c", "a.c", "-o", "slow.o"], cwd=work, env=scone_env)
    assert out.returncode == 0, out.stderr
    assert (work / "fast.o").read_bytes() == (work / "slow.o").read_bytes()


def test_gccs_status_and_diagnostics_on_the_fast_path(launched, work, scone_env):
    (work / "bad.c").write_text("int f(void) { return undeclared; }\n")
    fast_out = run([launched, "-c", "bad.c"], cwd=work, env=dict(scone_env, **NO_PYTHON))
    slow = run([launched.replace("scone-gcc", "scone-gcc-driver"), "-c", "bad.c"], cwd=work, env=scone_env)
    assert fast_out.returncode == slow.returncode == 1
    assert fast_out.stderr == slow.stderr and "undeclared" in fast_out.stderr


@pytest.mark.parametrize("args,extra", DRIVER_CALLS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_other_call_goes_to_the_driver(launched, work, scone_env, args, extra):
    out = run([launched, *args], cwd=work, env=dict(scone_env, **extra, **NO_PYTHON))
    assert out.returncode != 0 and "Fatal Python error" in out.stderr, (args, out.stderr)


@pytest.mark.parametrize("change", ["source", "gcc-on-path", "launcher-moved"])
def test_a_stale_fragment_hands_over_to_the_driver(launched, work, scone_env, tmp_path, change):
    """What the fragment vouches for changes: the call goes to the driver."""
    env = dict(scone_env, **NO_PYTHON)
    cmd = [launched, "-c", "a.c"]
    if change == "source":
        # The same fragment, in a cache of its own, also vouching for a
        # file that then changes.
        frag = Path(fast.fragment_path(scone_env["SCONE_CACHE"], launched)).read_text()
        probe = tmp_path / "probe"
        probe.write_text("x")
        os.utime(probe, ns=(1_000_000_000, 1_000_000_000))
        st = probe.stat()
        line = fast._stat_line(st)
        frag = frag.replace("stat -L -c '%d:%i:%s:%.9Y' -- ", f"stat -L -c '%d:%i:%s:%.9Y' -- '{probe}' ", 1)
        frag = frag.replace(" 2>/dev/null)\" = '", f" 2>/dev/null)\" = '{line}\n", 1)
        cache = tmp_path / "cache"
        (cache / "driver").mkdir(parents=True)
        frag = frag.replace(f"[ \"$_sc_cache\" = '{scone_env['SCONE_CACHE']}' ]", f"[ \"$_sc_cache\" = '{cache}' ]")
        Path(fast.fragment_path(str(cache), launched)).write_text(frag)
        env["SCONE_CACHE"] = str(cache)
        assert run(cmd, cwd=work, env=env).returncode == 0     # as written: the fast path
        probe.write_text("y")
        out = run(cmd, cwd=work, env=env)
    elif change == "gcc-on-path":
        other = tmp_path / "bin"
        other.mkdir()
        (other / "gcc").symlink_to("/usr/bin/gcc")
        out = run(cmd, cwd=work, env=dict(env, PATH=f"{other}:{env['PATH']}"))
    else:
        # A fragment found under another launcher's name is not used.
        moved = tmp_path / "elsewhere" / "scone-gcc"
        moved.parent.mkdir()
        moved.write_bytes(Path(launched).read_bytes())
        moved.chmod(0o755)
        (moved.parent / "scone-gcc-driver").symlink_to(Path(launched).with_name("scone-gcc-driver"))
        cache = scone_env["SCONE_CACHE"]
        Path(fast.fragment_path(cache, str(moved))).write_text(
            Path(fast.fragment_path(cache, launched)).read_text())
        try:
            out = run([str(moved), "-c", "a.c"], cwd=work, env=env)
        finally:
            os.unlink(fast.fragment_path(cache, str(moved)))
    assert out.returncode != 0 and "Fatal Python error" in out.stderr, out.stderr


def test_fragment_cases_follow_the_table():
    """Each table entry lands in the arm its syntax and role call for."""
    sh = fast.classify_sh()[0]
    arms = {}
    for line in sh.splitlines():
        line = line.strip()
        if line.startswith("'") and ")" in line:
            pats, act = line.split(") ", 1)
            for p in pats.split("|"):
                arms[p] = act.rstrip(" ;")
    assert arms["'-o'"] == "_sc_skip=1" and arms["'-MF'"] == "_sc_skip=1"
    assert arms["'-c'"] == "_sc_c=1" and arms["'-E'"] == "_sc_c=1"
    assert arms["'-m32'"] == "return" and arms["'-print-sysroot'"] == "return"
    assert arms["'-print-file-name='*"] == "return" and arms["'-MD'"] == ":"
    names = [p for p in arms if p.endswith("*")]
    # joined spellings longest first, as options.lookup tries them
    assert [len(n) for n in names] == sorted((len(n) for n in names), reverse=True)
