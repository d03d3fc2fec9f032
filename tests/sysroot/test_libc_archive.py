"""libc.a of the sysroot issues no system call itself: every member is
disassembled (objdump, independent of our build) and has no syscall-class
instruction and no vDSO lookup left."""

import re
import subprocess

from scone_cc import paths

from .conftest import need

SYSCALL_INSNS = re.compile(r"\t(syscall|sysenter|int\s+\$0x80)\b")


def objdump(path, *args):
    out = subprocess.run(["objdump", *args, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_no_syscall_instruction_in_libc(built):
    need("objdump")
    text = objdump(built / "lib" / "libc.a", "-dr", "--no-show-raw-insn")
    members = re.findall(r"^(\S+\.l?o):\s+file format", text, re.M)
    assert len(members) > 1000  # every member was disassembled
    hits = [line for line in text.splitlines() if SYSCALL_INSNS.search(line)]
    assert hits == []
    # ...and the call sites now reach the hook instead (one relocation each).
    assert len(re.findall(r"R_X86_64_(?:PLT|PC)32\s+__scone_syscall", text)) > 300


def test_crt_objects_have_no_syscall(built):
    need("objdump")
    for crt in ("crt1.o", "rcrt1.o", "Scrt1.o", "crti.o", "crtn.o"):
        text = objdump(built / "lib" / crt, "-d")
        assert not SYSCALL_INSNS.search(text), crt


def test_native_hook_is_where_syscalls_are(built):
    need("objdump")
    text = objdump(built / "lib" / "libscone-native.a", "-d", "--no-show-raw-insn")
    assert len(SYSCALL_INSNS.findall(text)) >= 5


def test_no_vdso_lookup(built):
    need("nm")
    syms = subprocess.run(["nm", "-A", str(built / "lib" / "libc.a")],
                          capture_output=True, text=True, check=True).stdout
    assert "__vdsosym" not in syms
    data = (built / "lib" / "libc.a").read_bytes()
    assert b"__vdso_clock_gettime" not in data and b"__vdso_getcpu" not in data


def test_unmapself_number_matches_header(built):
    """__unmapself.s is not preprocessed: its literal must equal hook.h's."""
    need("objdump")
    header = (paths.data_root() / "runtime/include/scone/hook.h").read_text()
    base = int(re.search(r"#define SCONE_NR_BASE (\d+)", header).group(1))
    offset = int(re.search(r"#define SCONE_NR_unmapself \(SCONE_NR_BASE \+ (\d+)\)",
                           header).group(1))
    text = objdump(built / "lib" / "libc.a", "-d", "--no-show-raw-insn")
    body = text.split("<__unmapself>:", 1)[1].split("\n\n", 1)[0]
    assert re.search(rf"mov\s+\$0x{base + offset:x},%eax", body), body


def test_sysroot_layout_and_manifest(built):
    import json

    lib = built / "lib"
    for name in ("libc.a", "crt1.o", "rcrt1.o", "Scrt1.o", "crti.o", "crtn.o",
                 "libm.a", "libpthread.a", "libscone-native.a"):
        assert (lib / name).is_file(), name
    assert (built / "include" / "stdio.h").is_file()
    assert (built / "include" / "scone" / "hook.h").is_file()
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["musl_sha256"] == "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
    assert "arch/x86_64/syscall_arch.h" in manifest["overlay"]
    assert built.name == "sysroot-" + manifest["key"][:16]
