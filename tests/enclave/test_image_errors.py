"""Bad enclave images and parameters: one clear SconeError each."""

import struct

import pytest

from scone_cc.enclave import layout
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
R, W, X = 4, 2, 1  # ELF p_flags


def load(flags, vaddr, offset, filesz, memsz=None):
    return dict(type=PT_LOAD, flags=flags, vaddr=vaddr, offset=offset, filesz=filesz,
                memsz=filesz if memsz is None else memsz)


GOOD = [load(R, 0, 0, 0x200), load(R | X, 0x1000, 0x1000, 0x10)]


def expect(image, *words, params=EnclaveParams()):
    with pytest.raises(SconeError) as err:
        layout.compute(image, params)
    msg = str(err.value)
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg


def test_good_baseline_is_accepted(elf_maker):
    assert layout.compute(elf_maker(GOOD), EnclaveParams()).runs[0].offset == 0


def test_not_elf():
    expect(b"#!/bin/sh\necho hi\n", "not an ELF file")
    expect(b"", "not an ELF file")


def test_truncated_header(elf_maker):
    expect(elf_maker(GOOD)[:40], "truncated")


def test_elf32(elf_maker):
    expect(elf_maker(GOOD, ei_class=1), "64-bit")


def test_not_x86_64(elf_maker):
    expect(elf_maker(GOOD, machine=183), "not x86-64")


def test_not_pie(elf_maker):
    expect(elf_maker(GOOD, e_type=2), "ET_DYN", "-static-pie")


def test_program_headers_past_end(elf_maker):
    expect(elf_maker(GOOD)[:100], "truncated", "program headers")


def test_segment_past_end(elf_maker):
    image = elf_maker([load(R, 0, 0, 0x200), load(R | X, 0x1000, 0x1000, 0x800)])
    expect(image[:0x1400], "truncated", "program header 1")


def test_interpreter(elf_maker):
    segs = GOOD + [dict(type=PT_INTERP, flags=R, vaddr=0x100, offset=0x100, filesz=8, memsz=8)]
    expect(elf_maker(segs), "PT_INTERP")


@pytest.mark.parametrize("tag,val", [(22, 0), (30, 4)])  # DT_TEXTREL; DT_FLAGS=DF_TEXTREL
def test_text_relocations(elf_maker, tag, val):
    dyn = struct.pack("<qQqQ", tag, val, 0, 0)
    segs = [load(R, 0, 0, 0x200), load(R | X, 0x1000, 0x1000, 0x10),
            dict(load(R | W, 0x2000, 0x2000, len(dyn)), data=dyn),
            dict(type=PT_DYNAMIC, flags=R | W, vaddr=0x2000, offset=0x2000,
                 filesz=len(dyn), memsz=len(dyn))]
    expect(elf_maker(segs), "text relocations", "-fPIC")


def test_dynamic_without_textrel_is_fine(elf_maker):
    dyn = struct.pack("<qQqQqQ", 30, 8, 0x6ffffffb, 0x8000000, 0, 0)  # DF_BIND_NOW, PIE
    segs = [load(R, 0, 0, 0x200), load(R | X, 0x1000, 0x1000, 0x10),
            dict(load(R | W, 0x2000, 0x2000, len(dyn)), data=dyn),
            dict(type=PT_DYNAMIC, flags=R | W, vaddr=0x2000, offset=0x2000,
                 filesz=len(dyn), memsz=len(dyn))]
    layout.compute(elf_maker(segs), EnclaveParams())


def test_writable_and_executable(elf_maker):
    expect(elf_maker([load(R, 0, 0, 0x200), load(R | W | X, 0x1000, 0x1000, 0x10)]),
           "writable and executable", "program header 1")


def test_write_without_read(elf_maker):
    expect(elf_maker(GOOD + [load(W, 0x2000, 0x2000, 0x10)]), "W without R")


def test_not_page_aligned(elf_maker):
    expect(elf_maker(GOOD + [load(R | W, 0x2010, 0x2020, 0x10)]), "not page-aligned")


def test_overlapping_pages(elf_maker):
    expect(elf_maker([load(R, 0, 0, 0x200), load(R | X, 0x1000, 0x1000, 0x10),
                      load(R | W, 0x1800, 0x1800, 0x10)]), "overlaps")


def test_filesz_above_memsz(elf_maker):
    expect(elf_maker(GOOD + [load(R | W, 0x2000, 0x2000, 0x20, 0x10)]), "p_filesz")


def test_entry_outside_code(elf_maker):
    expect(elf_maker(GOOD, entry=0x100), "entry point 0x100")


def test_no_loadable_segment(elf_maker):
    expect(elf_maker([dict(type=4, flags=R, vaddr=0x100, offset=0x100, filesz=4, memsz=4)]),
           "no loadable segment")


@pytest.mark.parametrize("change,word", [
    (dict(heap_size=1000), "heap size"), (dict(stack_size=0), "stack size"),
    (dict(stack_size=0x1800), "stack size"), (dict(tcs_count=0), "TCS count"),
    (dict(tcs_count=65), "TCS count"), (dict(nssa=0), "SSA frame count"),
    (dict(ssa_frame_pages=0), "SSA frame size"),
])
def test_bad_parameters(elf_maker, change, word):
    expect(elf_maker(GOOD), word, params=EnclaveParams(**change))
