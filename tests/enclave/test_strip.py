"""The strip family on scone binaries (DESIGN.md §4: tools that rewrite ELF
files must leave a working binary or be refused by ``scone-sign verify``).

Each tool is the real one, run as build systems and packagers run it
(automake's install-strip and CMake's --strip run ``install -s`` / ``strip``;
Debian's dh_strip runs ``strip --remove-section=.comment --remove-section=.note``
on executables, with ``--strip-unneeded`` on shared objects, and keeps the
debug part with ``objcopy --only-keep-debug`` / ``--add-gnu-debuglink``).
"""

import shutil
import struct
import subprocess

import pytest

from tests.conftest import have

TOOLS = [
    ["strip"],
    ["strip", "--strip-all"],
    ["strip", "--strip-unneeded"],
    ["strip", "--strip-debug"],
    ["strip", "--remove-section=.comment", "--remove-section=.note", "--strip-unneeded"],
    ["strip", "--remove-section=.comment", "--remove-section=.note"],
    ["objcopy", "--strip-debug"],
    ["objcopy", "--strip-unneeded"],
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def survives(path, env, before):
    """The binary runs as before, or verify refuses it with lines, never a crash with OK."""
    got = run([str(path)], env=env)
    verify = run(["scone-sign", "verify", str(path)], env=env)
    assert "Traceback" not in verify.stderr
    if (got.returncode, got.stdout) == (before.returncode, before.stdout):
        return "runs"
    assert verify.returncode == 1 and verify.stderr.strip(), (
        f"{path} ends with status {got.returncode} ({got.stderr.strip()[-200:]}) "
        f"but verify says: {verify.stdout}")
    return "refused"


@pytest.mark.parametrize("tool", TOOLS, ids=" ".join)
def test_strip_family_leaves_a_working_binary(tmp_path, hello, env, tool):
    before = run([str(hello)], env=env)
    assert before.returncode == 0 and "Hello" in before.stdout
    out = tmp_path / "app"
    shutil.copy2(hello, out)
    r = run([*tool, str(out)])
    assert r.returncode == 0, r.stderr
    assert "not in segment" not in r.stderr
    # The preferred outcome: the stripped binary still starts, and verify agrees.
    assert survives(out, env, before) == "runs"
    assert run(["scone-sign", "verify", str(out)], env=env).returncode == 0


def test_install_s_and_debug_link(tmp_path, hello, env):
    before = run([str(hello)], env=env)
    dest = tmp_path / "bin" / "app"
    dest.parent.mkdir()
    assert run(["install", "-s", "-m", "755", str(hello), str(dest)]).returncode == 0
    assert survives(dest, env, before) == "runs"
    # dh_strip with a dbgsym package: keep the debug part, strip, link it back.
    dbg = tmp_path / "app.debug"
    app = tmp_path / "app"
    shutil.copy2(hello, app)
    for cmd in (["objcopy", "--only-keep-debug", str(app), str(dbg)],
                ["strip", "--remove-section=.comment", "--remove-section=.note", str(app)],
                ["objcopy", f"--add-gnu-debuglink={dbg}", str(app)]):
        assert run(cmd, cwd=tmp_path).returncode == 0
    assert survives(app, env, before) == "runs"


@pytest.mark.skipif(not have("cmake"), reason="cmake is installed by setup.sh")
def test_cmake_install_strip_and_make_install_strip(tmp_path, env):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.c").write_text('#include <stdio.h>\nint main(void){puts("strip me");return 3;}\n')
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(s C)\nadd_executable(s main.c)\n"
        "install(TARGETS s DESTINATION bin)\n")
    (src / "Makefile").write_text(
        "CC ?= cc\nINSTALL ?= install\nm: main.c\n\t$(CC) -o $@ main.c\n"
        "install-strip: m\n\t$(INSTALL) -d $(DESTDIR)/bin\n\t$(INSTALL) -s -m 755 m $(DESTDIR)/bin/m\n")
    build = tmp_path / "build"
    for cmd in (["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_C_COMPILER=scone-gcc"],
                ["cmake", "--build", str(build)],
                ["cmake", "--install", str(build), "--strip", "--prefix", str(tmp_path / "inst")]):
        r = run(cmd, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    # The starter is linked -s, so a strip changes little; check it was asked for.
    assert "strip" in (build / "CMakeCache.txt").read_text().split("CMAKE_STRIP:FILEPATH=")[1]
    assert "CMAKE_INSTALL_DO_STRIP" in (build / "cmake_install.cmake").read_text()
    r = run(["make", "-C", str(src), "CC=scone-gcc", f"DESTDIR={tmp_path / 'mk'}",
             "install-strip"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    for unstripped, installed in ((build / "s", tmp_path / "inst" / "bin" / "s"),
                                  (src / "m", tmp_path / "mk" / "bin" / "m")):
        before = run([str(unstripped)], env=env)
        assert (before.returncode, before.stdout) == (3, "strip me\n")
        assert survives(installed, env, before) == "runs"


def _section_header(data, name):
    """(offset of the section header named ``name``, its fields) in an ELF64 file."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
    fmt = struct.Struct("<IIQQQQIIQQ")
    names = fmt.unpack_from(data, shoff + shstrndx * 64)
    table = data[names[4]:names[4] + names[5]]
    for i in range(shnum):
        sh = fmt.unpack_from(data, shoff + i * 64)
        if table[sh[0]:table.index(b"\0", sh[0])] == name:
            return shoff + i * 64, sh
    raise AssertionError(name)


def test_verify_refuses_bss_outside_its_segment(tmp_path, hello, env):
    """A .bss whose section header lies past its PT_LOAD (as an ELF rewriting
    library left it) runs, but strip would drop it: verify must say so."""
    data = bytearray(hello.read_bytes())
    at, sh = _section_header(data, b".bss")
    struct.pack_into("<Q", data, at + 16, sh[3] + 0x10000)     # sh_addr
    bad = tmp_path / "app"
    bad.write_bytes(data)
    v = run(["scone-sign", "verify", str(bad)], env=env)
    assert v.returncode == 1 and "allocated section .bss" in v.stderr, v.stdout + v.stderr
    assert len(v.stderr.splitlines()) == 1 and "Traceback" not in v.stderr


def test_verify_refuses_a_changed_starter(tmp_path, hello, env):
    data = bytearray(hello.read_bytes())
    at, sh = _section_header(data, b".text")
    data[sh[4] + 64] ^= 0xFF
    bad = tmp_path / "app"
    bad.write_bytes(data)
    v = run(["scone-sign", "verify", str(bad)], env=env)
    assert v.returncode == 1 and "differs from the one kept in .scone.starter" in v.stderr


def test_removing_a_scone_section_is_refused_not_a_crash(tmp_path, hello, env):
    """objcopy --remove-section of a part the starter or verify needs: the
    starter stops with its own message, verify says what is missing."""
    note = tmp_path / "no-note"
    assert run(["objcopy", "--remove-section=.note.scone", str(hello), str(note)]).returncode == 0
    r = run([str(note)], env=env)
    assert r.returncode not in (0, -11, 139) and "not a scone binary" in r.stderr
    v = run(["scone-sign", "verify", str(note)], env=env)
    assert v.returncode == 2 and "no .note.scone" in v.stderr and "Traceback" not in v.stderr
    kept = tmp_path / "no-starter"
    assert run(["objcopy", "--remove-section=.scone.starter", str(hello), str(kept)]).returncode == 0
    v = run(["scone-sign", "verify", str(kept)], env=env)
    assert v.returncode == 1 and "no .scone.starter section" in v.stderr
