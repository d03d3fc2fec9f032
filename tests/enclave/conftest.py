"""Fixtures of the enclave tests: hand-made ELF files and real images built by gcc."""

import os
import struct
import subprocess
from pathlib import Path

import pytest

from ..conftest import IMAGE_C, gcc

REPO = Path(__file__).resolve().parents[2]

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W, PF_R = 1, 2, 4


def make_elf(segments, *, entry=0x1000, e_type=3, machine=62, ei_class=2, size=None):
    """An ELF64 file built field by field from the gABI, independent of scone_cc.

    ``segments``: dicts with type, flags, vaddr, offset, filesz, memsz and
    optional ``data`` written at ``offset``.
    """
    phoff = 64
    end = max([phoff + 56 * len(segments)] +
              [s["offset"] + s["filesz"] for s in segments])
    out = bytearray(size if size is not None else end)
    ident = b"\x7fELF" + bytes([ei_class, 1, 1]) + bytes(9)
    struct.pack_into("<16sHHIQQQIHHHHHH", out, 0, ident, e_type, machine, 1, entry,
                     phoff, 0, 0, 64, 56, len(segments), 64, 0, 0)
    for i, s in enumerate(segments):
        struct.pack_into("<IIQQQQQQ", out, phoff + 56 * i, s["type"], s["flags"],
                         s["offset"], s["vaddr"], s["vaddr"], s["filesz"], s["memsz"], 0x1000)
        if "data" in s:
            out[s["offset"]:s["offset"] + len(s["data"])] = s["data"]
    return bytes(out)


def seg(type_, flags, vaddr, offset, filesz, memsz=None, data=None):
    s = dict(type=type_, flags=flags, vaddr=vaddr, offset=offset, filesz=filesz,
             memsz=filesz if memsz is None else memsz)
    if data is not None:
        s["data"] = data
    return s


# A three-segment image whose layout the tests work out by hand: headers (R)
# in page 0, code (RX) in page 1, data (RW) from 0x2010 with a .bss tail that
# ends in page 4.
TEXT = bytes(range(1, 0x21))
DATA = bytes(range(0x80, 0xB0))


@pytest.fixture(scope="session")
def hand_image() -> bytes:
    return make_elf([
        seg(PT_LOAD, PF_R, 0, 0, 0x200),
        seg(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, len(TEXT), data=TEXT),
        seg(PT_LOAD, PF_R | PF_W, 0x2010, 0x2010, len(DATA), 0x2000, data=DATA),
    ], entry=0x1008, size=0x2100)


@pytest.fixture(scope="session")
def gcc_image(tmp_path_factory) -> Path:
    """A real static-pie built by plain gcc (its RW segment is not page-aligned)."""
    d = tmp_path_factory.mktemp("gccimg")
    (d / "img.c").write_text(IMAGE_C)
    gcc(["-O2", "-fPIE", "-static-pie", "-nostdlib", "-Wl,-z,max-page-size=4096",
         "-Wl,-z,separate-code", "-Wl,--build-id", "-e", "__scone_entry",
         "-o", "img", "img.c"], d)
    return d / "img"


@pytest.fixture(scope="session")
def ld_image(tmp_path_factory) -> Path:
    """A real image linked with linker_scripts/enclave.ld."""
    script = REPO / "linker_scripts" / "enclave.ld"
    if not script.exists():
        pytest.skip("linker_scripts/enclave.ld is not there yet")
    d = tmp_path_factory.mktemp("ldimg")
    (d / "img.c").write_text(IMAGE_C)
    gcc(["-O2", "-fPIE", "-static-pie", "-nostdlib", "-Wl,-z,text", "-Wl,-z,noexecstack",
         "-Wl,--build-id", f"-Wl,-T,{script}", "-o", "img", "img.c"], d)
    return d / "img"


STARTER_C = r"""
#include <stdio.h>
int main(int argc, char **argv) { printf("starter %d\n", argc); return 7; }
"""


@pytest.fixture(scope="session")
def starter(tmp_path_factory) -> bytes:
    """A starter-like ELF: static, with --build-id so that it has a PT_NOTE."""
    d = tmp_path_factory.mktemp("starter")
    (d / "st.c").write_text(STARTER_C)
    gcc(["-O2", "-static", "-Wl,--build-id", "-o", "st", "st.c"], d)
    return (d / "st").read_bytes()


@pytest.fixture(scope="session")
def elf_maker():
    return make_elf


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    e = dict(os.environ, HOME=str(home), SCONE_MODE="SIM")
    e.setdefault("SCONE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "scone"))
    e.pop("XDG_CONFIG_HOME", None)
    e.pop("SCONE_KEY", None)
    return e


@pytest.fixture(scope="session")
def hello(tmp_path_factory, env):
    d = tmp_path_factory.mktemp("hello")
    out = subprocess.run(["scone-gcc", "-O2", str(REPO / "samples" / "hello.c"), "-o",
                          str(d / "hello")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return d / "hello"
