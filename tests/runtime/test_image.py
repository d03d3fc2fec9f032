"""The enclave image as enclave.ld lays it out (checked with readelf on a real
image taken out of a scone binary), and the linker script's refusals."""

import re
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "linker_scripts" / "enclave.ld"
HELLO = REPO / "samples" / "hello.c"


def loads(image: Path):
    """(type, offset, vaddr, filesz, memsz, flags) of each program header, from readelf."""
    out = subprocess.run(["readelf", "-lW", str(image)], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[1].startswith("0x") and f[0].isupper():
            rows.append((f[0], int(f[1], 16), int(f[2], 16), int(f[4], 16), int(f[5], 16),
                         " ".join(f[6:-1])))
    return rows, out


def test_real_image_segments(build, tmp_path):
    exe = build(HELLO)
    image = tmp_path / "image.elf"
    with open(exe, "rb") as f:
        image.write_bytes(ELFFile(f).get_section_by_name(".scone.enclave").data())
    rows, text = loads(image)
    kinds = [r[0] for r in rows]
    assert "INTERP" not in kinds and "GNU_RELRO" not in kinds, text
    load = [r for r in rows if r[0] == "LOAD"]
    assert [r[5] for r in load] == ["R", "R E", "RW"], text
    for _, off, vaddr, filesz, memsz, flags in load:
        assert off == vaddr and off % 4096 == 0, text      # file page N = enclave page N
        assert not ("W" in flags and "E" in flags)
    for a, b in zip(load, load[1:]):                        # no page shared by two segments
        assert (a[2] + a[4] + 4095) // 4096 <= b[2] // 4096, text
    assert load[0][1] == 0                                  # headers loaded (AT_PHDR)
    header = subprocess.run(["readelf", "-hW", str(image)], capture_output=True, text=True).stdout
    assert "DYN (Position-Independent Executable file)" in header
    syms = subprocess.run(["readelf", "-sW", str(image)], capture_output=True, text=True).stdout
    entry = int(re.search(r"Entry point address:\s+0x([0-9a-f]+)", header).group(1), 16)
    assert re.search(rf"\b0*{entry:x}\b.*__scone_entry", syms)
    rel = subprocess.run(["readelf", "-rW", str(image)], capture_output=True, text=True).stdout
    types = set(re.findall(r"R_X86_64_\w+", rel))
    assert types <= {"R_X86_64_RELATIVE"}, types
    rw = load[2]
    for off in re.findall(r"^([0-9a-f]{16})\s", rel, re.M):
        assert rw[2] <= int(off, 16) < rw[2] + rw[4]           # relocations only in RW


def link(tmp_path, source: str):
    c = tmp_path / "t.c"
    c.write_text(source + "\nvoid __scone_entry(void) {}\n")
    obj = tmp_path / "t.o"
    subprocess.run(["gcc", "-fPIE", "-O2", "-c", str(c), "-o", str(obj)], check=True)
    return subprocess.run(["gcc", "-static-pie", "-nostdlib", f"-Wl,-T,{SCRIPT}", "-Wl,-z,text",
                           "-Wl,--build-id", str(obj), "-o", str(tmp_path / "t.elf")],
                          capture_output=True, text=True)


def test_script_refuses_interp(tmp_path):
    r = link(tmp_path, '__attribute__((section(".interp"), used)) static const char i[] = "/lib/ld.so";')
    assert r.returncode != 0
    assert "enclave image: an interpreter (.interp) was requested" in r.stderr


def test_ifunc_image_refused(tmp_path):
    import pytest

    from scone_cc.enclave import elfimage
    from scone_cc.errors import SconeError

    r = link(tmp_path, "static int one(void) { return 1; }\n"
                       "static void *pick(void) { return one; }\n"
                       'int f(void) __attribute__((ifunc("pick")));\n'
                       "int g(void) { return f(); }")
    assert r.returncode == 0, r.stderr
    rel = subprocess.run(["readelf", "-rW", str(tmp_path / "t.elf")], capture_output=True,
                         text=True).stdout
    assert "R_X86_64_IRELATIVE" in rel
    with pytest.raises(SconeError, match="avoid IFUNC"):
        elfimage.parse((tmp_path / "t.elf").read_bytes())


def test_undefined_symbol_is_not_called_ifunc(tmp_path):
    # ld makes a PLT slot for an undefined function even as the link fails.
    r = link(tmp_path, "int missing(void);\nint g(void) { return missing(); }")
    assert r.returncode != 0
    assert "undefined reference to `missing'" in r.stderr
    assert "IFUNC" not in r.stderr and "PLT" not in r.stderr


def test_script_with_text_relocation_refused(tmp_path):
    # An absolute address in read-only code needs a text relocation: -z text refuses.
    r = link(tmp_path, 'int x;\n__asm__(".section .rodata\\n.quad x\\n.text");')
    assert r.returncode != 0


def test_script_plain_link(tmp_path):
    r = link(tmp_path, "int v = 3; int *p = &v; int get(void) { return *p; }")
    assert r.returncode == 0, r.stderr
    rows, text = loads(tmp_path / "t.elf")
    assert all(r[1] == r[2] and r[1] % 4096 == 0 for r in rows if r[0] == "LOAD"), text
