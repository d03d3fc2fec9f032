"""Instructions that fault in an enclave (DESIGN.md §11): scone-check lists
them in enclave images, with file:line where DWARF has it -- CPUID and
RDTSC as notes (the runtime emulates them), a system-call instruction as an
error that refuses the link unless allowed. Expected lines come from the
sources' EXPECT markers; libgcc's CPUID sites from gcc's own
__cpu_indicator_init (gcc/common/config/i386/cpuinfo.h)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import expected

INSNS = Path(__file__).resolve().parent / "insns"


def _link(src, out, *flags, env=None):
    return subprocess.run(["scone-gcc", "-g", "-O2", *flags, str(src), "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


def _check(path):
    r = subprocess.run(["scone-check", "--json", str(path)], capture_output=True, text=True, timeout=120)
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines()]


def test_cpuid_sites_of_builtin_cpu_supports_are_notes(tmp_path):
    src = INSNS / "cpu_features.c"
    out = tmp_path / "cpu"
    r = _link(src, out)
    assert r.returncode == 0, r.stderr
    assert "cpuid" not in r.stderr              # notes are not printed at link time
    rc, found = _check(out)
    assert rc == 0                               # notes only
    assert found and all(f["severity"] == "note" and f["syscall"] == "cpuid" for f in found), found
    mine = {(f["line"], f["syscall"]) for f in found if f["src"] and os.path.basename(f["src"]) == src.name}
    assert mine == expected(src)
    assert "__cpu_indicator_init" in {f["function"] for f in found}


def test_a_system_call_instruction_refuses_the_link(tmp_path):
    src = INSNS / "raw_syscall.c"
    r = _link(src, tmp_path / "raw")
    assert r.returncode == 1
    assert f"{src.name}:7:" in r.stderr and "'syscall' instruction raises #UD in an SGX enclave" in r.stderr, r.stderr
    assert "--scone-allow=syscall" in r.stderr
    assert not (tmp_path / "raw").exists()
    r = _link(src, tmp_path / "raw", "--scone-allow=syscall")
    assert r.returncode == 0, r.stderr
    assert "allowed by --scone-allow/SCONE_ALLOW: the process ends there if it runs" in r.stderr
    rc, found = _check(tmp_path / "raw")
    assert rc == 1
    assert {(f["line"], f["syscall"]) for f in found if f["severity"] == "error"} == expected(src)


@pytest.mark.parametrize("src", ["cpu_features.c", "raw_syscall.c"])
def test_ordinary_executables_may_use_them(src, tmp_path):
    out = tmp_path / "plain"
    subprocess.run(["gcc", "-g", "-static", str(INSNS / src), "-o", str(out)], check=True)
    assert _check(out) == (0, [])


# SDM Vol. 3D 37.6.1, Table 37-1 "Illegal Instructions Inside an Enclave", by
# class: each source marks every illegal site with the name --scone-allow
# takes (mov_sreg stands for mov-sreg: markers are \w+), and holds legal
# neighbours (INT3, reading a segment register, LAR/LSL, near indirect
# jumps, RDRAND) that must not be reported.
@pytest.mark.parametrize("src", ["ud_vmexit.S", "ud_io.S", "ud_segments.S"])
def test_table_37_1_instructions_are_errors_with_their_lines(src, tmp_path):
    src = INSNS / src
    want = {(line, name.replace("_", "-")) for line, name in expected(src)}
    r = _link(src, tmp_path / "ud")
    assert r.returncode == 1 and not (tmp_path / "ud").exists(), r.stderr
    assert "raises #UD in an SGX enclave" in r.stderr
    names = sorted({n for _, n in want})
    r = _link(src, tmp_path / "ud", f"--scone-allow={','.join(names)}")
    assert r.returncode == 0, r.stderr
    rc, found = _check(tmp_path / "ud")
    assert rc == 1
    mine = {(f["line"], f["syscall"]) for f in found
            if f["severity"] == "error" and f["src"] and os.path.basename(f["src"]) == src.name}
    assert mine == want
    assert all(f["src"] and os.path.basename(f["src"]) == src.name for f in found), found


def test_tables_in_hand_written_assembly_are_not_code(tmp_path):
    """OpenSSL's SHA-1 keeps its constants in .text under an untyped label;
    their bytes decode as OUTSB. An enclave with the encrypted-file shield
    (which links libcrypto) links clean."""
    vol = tmp_path / "vol"
    vol.mkdir()
    r = _link(INSNS / "cpu_features.c", tmp_path / "fs", f"--scone-fs={vol}:encrypted")
    assert r.returncode == 0, r.stderr
    rc, found = _check(tmp_path / "fs")
    assert rc == 0 and all(f["severity"] == "note" for f in found), found
