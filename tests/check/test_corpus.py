"""Exact verdicts and file:line for every corpus program, in every form the
checker reads: object, archive, dynamic and static executables (glibc, musl)
and, when the sysroot is there, a scone binary's enclave image."""

import os
import shutil
import subprocess

import pytest

from scone_cc.check import check_paths

from .conftest import CORPUS, compile_c, expected, verdict_name

PROGRAMS = sorted(p.name for p in CORPUS.glob("*.c"))

VARIANTS = {
    "object": (["gcc", "-g", "-c"], None),
    "dynamic": (["gcc", "-g", "-pthread"], None),
    "glibc-static": (["gcc", "-g", "-static", "-pthread"], None),
    "glibc-static-O2": (["gcc", "-g", "-O2", "-static", "-pthread"], None),
    "object-dwarf4": (["gcc", "-gdwarf-4", "-c"], None),
    "dynamic-dwarf4-O2": (["gcc", "-gdwarf-4", "-O2", "-pthread"], None),
    "musl-static": (["musl-gcc", "-g", "-static"], "musl-gcc"),
    "scone": (["scone-gcc", "-g"], "scone-gcc"),
}
QUICK = {"object", "glibc-static", "musl-static"}


def _variants():
    for v in VARIANTS:
        marks = [] if v in QUICK else [pytest.mark.slow]
        yield pytest.param(v, marks=marks, id=v)


def _build(variant, prog, tmp_path):
    cmd, tool = VARIANTS[variant]
    if tool and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    if variant == "scone":
        r = subprocess.run(["scone-gcc", "-print-sysroot"], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            pytest.skip("the scone sysroot cannot be built here")
        env = dict(os.environ, SCONE_ALLOW=",".join(sorted({n for _l, n in expected(CORPUS / prog)})))
        out = tmp_path / prog.replace(".c", ".bin")
        r = subprocess.run(cmd + [str(CORPUS / prog), "-o", str(out)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return out
    return compile_c(cmd, CORPUS / prog, tmp_path / prog.replace(".c", ".o" if "-c" in cmd else ""))


@pytest.mark.parametrize("variant", _variants())
@pytest.mark.parametrize("prog", PROGRAMS)
def test_verdicts_and_lines(prog, variant, tmp_path):
    binary = _build(variant, prog, tmp_path)
    findings = check_paths([binary])
    got = {(f.line, verdict_name(f)) for f in findings}
    assert got == expected(CORPUS / prog), "\n".join(f.format() for f in findings)
    for f in findings:
        assert os.path.basename(f.src) == prog
        assert f.col > 0
        assert f.severity == "error"
        assert f.function and f.function != "?" or f.kind == "pointer"


def test_archive_of_corpus_objects(tmp_path):
    objs = [compile_c(["gcc", "-g", "-c"], CORPUS / p, tmp_path / p.replace(".c", ".o")) for p in PROGRAMS]
    lib = tmp_path / "libcorpus.a"
    subprocess.run(["ar", "rcs", str(lib)] + [str(o) for o in objs], check=True)
    findings = check_paths([lib])
    for p in PROGRAMS:
        member = f"{lib}({p.replace('.c', '.o')})"
        got = {(f.line, verdict_name(f)) for f in findings if f.obj == member}
        assert got == expected(CORPUS / p), p


def test_without_dwarf_sites_are_named_by_section_and_offset(tmp_path):
    obj = compile_c(["gcc", "-c"], CORPUS / "direct.c", tmp_path / "direct.o")
    findings = check_paths([obj])
    fork = [f for f in findings if f.callee == "fork"]
    assert len(fork) == 1 and fork[0].line == 0 and fork[0].src is None
    # the call's relocation, found by objdump: R_X86_64_PLT32 fork-0x4 at the byte after the e8 opcode
    dump = subprocess.run(["objdump", "-dr", str(obj)], capture_output=True, text=True, check=True).stdout
    reloc = next(line for line in dump.splitlines() if "R_X86_64_PLT32" in line and "\tfork-0x4" in line)
    at = int(reloc.split(":")[0].strip(), 16) - 1
    assert fork[0].format().startswith(f"{obj}(.text+{at:#x}): error: call to 'fork' needs system call fork (57)")
    assert fork[0].format().endswith("[in 'spawners']")


def test_static_musl_without_dwarf_still_reports_app_call(tmp_path):
    if shutil.which("musl-gcc") is None:
        pytest.skip("musl-gcc is not installed")
    exe = compile_c(["musl-gcc", "-static"], CORPUS / "layered.c", tmp_path / "layered")
    names = {(f.function, f.callee) for f in check_paths([exe])}
    assert ("run_shell", "system") in names and ("open_pipe", "popen") in names
    clean = compile_c(["musl-gcc", "-static"], CORPUS / "clean.c", tmp_path / "clean")
    assert check_paths([clean]) == []


def test_stripped_executables(tmp_path):
    dyn = compile_c(["gcc", "-s", "-O2"], CORPUS / "layered.c", tmp_path / "layered.dyn")
    found = check_paths([dyn])
    assert sorted(f.callee for f in found) == ["popen", "system"]
    assert all(f.function == "<stripped .text>" and f.src is None for f in found)
    static = compile_c(["gcc", "-s", "-static"], CORPUS / "inline_asm.c", tmp_path / "asm.static")
    assert {"fork", "ptrace", "clone"} <= {f.syscall for f in check_paths([static])}
    clean = compile_c(["gcc", "-s", "-static", "-pthread"], CORPUS / "clean.c", tmp_path / "clean.static")
    assert check_paths([clean]) == []


@pytest.mark.parametrize("cc", [["gcc", "-static"], ["musl-gcc", "-static"], ["gcc"]], ids=["glibc", "musl", "dynamic"])
@pytest.mark.parametrize("prog", ["direct.c", "layered.c", "clean.c"])
def test_without_dwarf_the_same_sites_are_found(cc, prog, tmp_path):
    """No -g: the verdicts are the same set of application sites, named by section+offset."""
    if shutil.which(cc[0]) is None:
        pytest.skip(f"{cc[0]} is not installed")
    with_g = compile_c([cc[0], "-g"] + cc[1:] + ["-pthread"], CORPUS / prog, tmp_path / "g")
    without = compile_c(cc + ["-pthread"], CORPUS / prog, tmp_path / "nog")
    a = check_paths([with_g])
    b = check_paths([without])
    assert len(b) == len(expected(CORPUS / prog))
    assert sorted((f.function, f.callee, f.syscall, f.offset) for f in a) == \
        sorted((f.function, f.callee, f.syscall, f.offset) for f in b)
    assert all(f.src is None for f in b)
