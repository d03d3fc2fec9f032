"""Bad input: one clear line each, exit 2, never a traceback."""

import random
import shutil
import subprocess

import pytest

from scone_cc.check import check_blob, check_paths
from scone_cc.check.inputs import Blob, validate_elf
from scone_cc.errors import SconeError

from .conftest import CORPUS, compile_c


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    d = tmp_path_factory.mktemp("mal")
    return compile_c(["gcc", "-g", "-c"], CORPUS / "direct.c", d / "direct.o")


def one_line(path, tmp_path):
    r = subprocess.run(["scone-check", str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    return r.stderr


@pytest.mark.parametrize("cut", [10, 63, 200, 0.5, -1])
def test_truncated_elf(obj, tmp_path, cut):
    data = obj.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    bad = tmp_path / "cut.o"
    bad.write_bytes(data[:n])
    err = one_line(bad, tmp_path)
    assert err.startswith(f"scone-check: error: {bad}: truncated") and "rebuild it" in err


def test_i386_object(tmp_path):
    src = tmp_path / "x.s"
    src.write_text("nop\n")
    subprocess.run(["as", "--32", str(src), "-o", str(tmp_path / "x32.o")], check=True)
    err = one_line(tmp_path / "x32.o", tmp_path)
    assert "32-bit ELF object for i386" in err and "x86-64" in err


def test_aarch64_object(obj, tmp_path):
    out = tmp_path / "a64.o"
    if shutil.which("aarch64-linux-gnu-as"):
        (tmp_path / "a.s").write_text("nop\n")
        subprocess.run(["aarch64-linux-gnu-as", str(tmp_path / "a.s"), "-o", str(out)], check=True)
    else:       # the same object with e_machine = EM_AARCH64 (183), as an aarch64 assembler would mark it
        data = bytearray(obj.read_bytes())
        data[18:20] = (183).to_bytes(2, "little")
        out.write_bytes(bytes(data))
    assert "ELF object for aarch64, not x86-64" in one_line(out, tmp_path)


@pytest.mark.parametrize("content,text", [(b"", "starts with nothing"), (b"#!/bin/sh\necho\n", "starts with 23212f62"),
                                          (bytes(range(256)) * 4, "starts with 00010203")])
def test_garbage(tmp_path, content, text):
    p = tmp_path / "junk"
    p.write_bytes(content)
    err = one_line(p, tmp_path)
    assert f"{p}: not an ELF file ({text})" in err


def test_directory_and_missing_file(tmp_path):
    assert "is a directory" in one_line(tmp_path, tmp_path)
    assert "cannot read (No such file or directory)" in one_line(tmp_path / "nope.o", tmp_path)


def test_truncated_archive(obj, tmp_path):
    lib = tmp_path / "lib.a"
    subprocess.run(["ar", "rc", str(lib), str(obj)], check=True)
    data = lib.read_bytes()
    (tmp_path / "cut.a").write_bytes(data[: len(data) - 100])
    assert "truncated archive" in one_line(tmp_path / "cut.a", tmp_path)


def test_thin_archive_with_missing_member(obj, tmp_path):
    member = tmp_path / "m.o"
    member.write_bytes(obj.read_bytes())
    subprocess.run(["ar", "rcT", str(tmp_path / "thin.a"), str(member)], check=True)
    assert any(f.callee == "fork" for f in check_paths([tmp_path / "thin.a"]))
    member.unlink()
    assert "thin archive member" in one_line(tmp_path / "thin.a", tmp_path)


def test_archive_with_odd_member_inside_is_bad_input(obj, tmp_path):
    (tmp_path / "x32.s").write_text("nop\n")
    subprocess.run(["as", "--32", str(tmp_path / "x32.s"), "-o", str(tmp_path / "x32.o")], check=True)
    subprocess.run(["ar", "rc", str(tmp_path / "mixed.a"), str(tmp_path / "x32.o")], check=True)
    assert "mixed.a(x32.o): 32-bit ELF object for i386" in one_line(tmp_path / "mixed.a", tmp_path)


@pytest.mark.parametrize("seed", range(4))
def test_random_damage_never_escapes_as_a_traceback(obj, seed):
    rng = random.Random(seed)
    base = obj.read_bytes()
    for _ in range(50):
        d = bytearray(base)
        for _k in range(rng.randint(1, 24)):
            d[rng.randrange(len(d))] = rng.randrange(256)
        if rng.random() < 0.3:
            d = d[: rng.randrange(len(d))]
        try:
            validate_elf("f", bytes(d))
            check_blob(Blob("f", bytes(d)))
        except SconeError as err:
            assert "\n" not in str(err) and str(err).startswith("f")


def _member(name: bytes, data: bytes) -> bytes:
    hdr = name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"644".ljust(8)
    hdr += str(len(data)).encode().ljust(10) + b"`\n"
    return hdr + data + (b"\n" if len(data) & 1 else b"")


def test_bsd_archive_symbol_table_and_long_names(obj, tmp_path):
    """A BSD-style archive (as macOS ar writes): __.SYMDEF first, long names as #1/N."""
    name = b"a_long_member_name.o"
    blob = b"!<arch>\n" + _member(b"__.SYMDEF", b"\0" * 8)
    blob += _member(b"#1/%d" % len(name), name + obj.read_bytes())
    lib = tmp_path / "bsd.a"
    lib.write_bytes(blob)
    r = subprocess.run(["scone-check", str(lib)], capture_output=True, text=True)
    assert r.stderr == f"{lib}(__.SYMDEF): note: skipping the archive's symbol table (not an ELF object)\n"
    assert f"{lib}(a_long_member_name.o)(.text+" in r.stdout and r.returncode == 1
