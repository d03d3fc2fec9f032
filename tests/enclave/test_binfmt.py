"""The scone binary format: write/read round trips on a real starter-like ELF,
checked with pyelftools and by hand against note.h; bad files; atomicity."""

import io
import os
import random
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from scone_cc.enclave import binfmt, layout
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams

PARAMS = EnclaveParams(heap_size=1 << 20, stack_size=64 << 10, tcs_count=2)
SIG = bytes(random.Random(1).randrange(256) for _ in range(1808))


@pytest.fixture
def built(tmp_path, starter, ld_image):
    image = ld_image.read_bytes()
    out = tmp_path / "app"
    binfmt.write(out, starter=starter, image=image, layout=layout.compute(image, PARAMS),
                 sigstruct=SIG)
    return out, image


def elf_parts(path):
    """The image section and the SCONE note, read with pyelftools."""
    elf = ELFFile(io.BytesIO(path.read_bytes()))
    image = elf.get_section_by_name(".scone.enclave").data()
    notes = list(elf.get_section_by_name(".note.scone").iter_notes())
    return elf, image, notes


def test_written_binary_holds_image_and_note(built):
    path, image = built
    elf, got_image, notes = elf_parts(path)
    assert got_image == image
    assert len(notes) == 1
    n = notes[0]
    assert (n["n_name"], n["n_type"], n["n_namesz"]) == ("SCONE", 0x53430001, 6)
    desc = n["n_descdata"]
    # note.h, by hand: the image's PT_LOADs, config, heap, and 4 runs per TCS.
    loads = [s for s in ELFFile(io.BytesIO(image)).iter_segments() if s["p_type"] == "PT_LOAD"]
    nruns = len(loads) + 2 + 4 * 2
    blob = 2768 + 2 * (72 + 32)   # config struct, then per TCS: TCS prefix, thread block
    magic, version, size, ssa, n_runs, runs_off, blob_off, blob_size, sig_off, img_size, \
        config_off = struct.unpack_from("<IIQIIIIIIQQ", desc, 0)
    assert (magic, version, ssa, n_runs) == (0x454E4353, 1, 1, nruns)
    assert (runs_off, blob_off, blob_size) == (88, 88 + 32 * nruns, blob)
    assert sig_off == 88 + 32 * nruns + blob and len(desc) == sig_off + 1808
    assert img_size == len(image) and desc[56:88] == bytes(32)
    assert desc[sig_off:] == SIG
    runs = [struct.unpack_from("<QIHBBQQ", desc, 88 + 32 * i) for i in range(nruns)]
    for (off, count, secinfo, measured, source, src_off, src_size), s in zip(runs, loads):
        assert (off, source, src_off, src_size, measured) == \
            (s["p_vaddr"], 1, s["p_offset"], s["p_filesz"], 1)
    assert config_off == runs[len(loads)][0]
    # After the image: config (blob), heap (zero), then per TCS stack (zero),
    # TCS (blob, 72 bytes), SSA (zero), thread page (blob, 32 bytes).
    expected = [(2, 2768), (0, 0)] + [(0, 0), (2, 72), (0, 0), (2, 32)] * 2
    blob_pos = 0
    for (source, size), run in zip(expected, runs[len(loads):], strict=True):
        assert (run[4], run[5], run[6]) == (source, blob_pos if size else 0, size)
        blob_pos += size
    assert blob_pos == blob


def test_written_binary_runs_as_the_starter(built):
    path, _ = built
    assert os.stat(path).st_mode & 0o777 == 0o755
    out = subprocess.run([str(path), "a"], capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (7, "starter 2\n")


def test_read_round_trip(built):
    path, image = built
    b = binfmt.read(path)
    assert b.image == image and b.sigstruct == SIG and b.problems == ()
    assert b.params == EnclaveParams(heap_size=1 << 20, stack_size=64 << 10, tcs_count=2,
                                     isvprodid=int.from_bytes(SIG[1024:1026], "little"),
                                     isvsvn=int.from_bytes(SIG[1026:1028], "little"))
    assert b.layout == layout.compute(image, PARAMS)
    _, _, notes = elf_parts(path)
    assert b.note == notes[0]["n_descdata"]


def test_unsigned_reads_as_none(tmp_path, starter, ld_image):
    image = ld_image.read_bytes()
    binfmt.write(tmp_path / "u", starter=starter, image=image,
                 layout=layout.compute(image, PARAMS), sigstruct=None)
    b = binfmt.read(tmp_path / "u")
    assert b.sigstruct is None and b.note[-1808:] == bytes(1808) and b.problems == ()


def test_write_signature_same_size_changes_only_the_note(built):
    path, image = built
    before = path.read_bytes()
    os.chmod(path, 0o750)
    new = layout.compute(image, EnclaveParams(heap_size=4 << 20, stack_size=64 << 10,
                                              tcs_count=2, debug=False))
    binfmt.write_signature(path, new, bytes(1808))
    after = path.read_bytes()
    desc_start = after.index(b"SCNE")
    changed = [i for i in range(len(after)) if after[i] != before[i]]
    assert len(after) == len(before) and changed
    assert desc_start <= changed[0] and changed[-1] < desc_start + len(binfmt.read(path).note)
    b = binfmt.read(path)
    assert b.params.heap_size == 4 << 20 and not b.params.debug and b.sigstruct is None
    assert os.stat(path).st_mode & 0o777 == 0o750


def test_write_signature_new_size_rebuilds_from_kept_starter(built):
    path, image = built
    os.chmod(path, 0o700)
    new = layout.compute(image, EnclaveParams(tcs_count=5))
    binfmt.write_signature(path, new, SIG)
    b = binfmt.read(path)
    assert b.params.tcs_count == 5 and b.layout == new and b.problems == ()
    assert os.stat(path).st_mode & 0o777 == 0o700
    assert subprocess.run([str(path)], capture_output=True).returncode == 7


def expect_read_error(path, *words):
    with pytest.raises(SconeError) as err:
        binfmt.read(path)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_read_errors(tmp_path, built, starter):
    path, _ = built
    (tmp_path / "text").write_text("hello\n")
    expect_read_error(tmp_path / "text", "not an ELF file")
    expect_read_error(tmp_path / "missing", "cannot read")
    (tmp_path / "plain").write_bytes(starter)
    expect_read_error(tmp_path / "plain", "not a scone binary")
    data = path.read_bytes()
    for cut in (10, 100, len(data) // 2, len(data) - 100):
        (tmp_path / "cut").write_bytes(data[:cut])
        with pytest.raises(SconeError):
            binfmt.read(tmp_path / "cut")


def no_temp_files(d):
    return [p.name for p in d.iterdir() if p.name.endswith(".tmp")] == []


def test_write_errors_leave_nothing(tmp_path, starter, ld_image, gcc_image):
    image = ld_image.read_bytes()
    lay = layout.compute(image, PARAMS)
    out = tmp_path / "out"
    with pytest.raises(SconeError, match="not an ELF file"):
        binfmt.write(out, starter=b"#!/bin/sh\n", image=image, layout=lay, sigstruct=None)
    with pytest.raises(SconeError, match="does not match the enclave image"):
        binfmt.write(out, starter=starter, image=gcc_image.read_bytes(), layout=lay,
                     sigstruct=None)
    with pytest.raises(SconeError, match="SIGSTRUCT is 10 bytes"):
        binfmt.write(out, starter=starter, image=image, layout=lay, sigstruct=bytes(10))
    assert not out.exists() and no_temp_files(tmp_path)


def test_starter_without_pt_note(tmp_path, ld_image):
    """The sections are appended without touching the starter's segments, so
    a starter needs no PT_NOTE and runs as linked."""
    (tmp_path / "nn.c").write_text(
        'void _start(void) { __asm__ volatile("mov $60,%eax; mov $9,%edi; syscall"); }\n')
    subprocess.run(["gcc", "-O2", "-static", "-nostdlib", "-Wl,--build-id=none", "-o", "nn",
                    "nn.c"], cwd=tmp_path, check=True)
    image = ld_image.read_bytes()
    starter = (tmp_path / "nn").read_bytes()
    out = tmp_path / "o"
    binfmt.write(out, starter=starter, image=image, layout=layout.compute(image, PARAMS),
                 sigstruct=None)
    assert subprocess.run([str(out)]).returncode == 9
    assert out.read_bytes()[64:64 + 56 * 2] == starter[64:64 + 56 * 2]   # program headers
    assert binfmt.read(out).image == image and no_temp_files(tmp_path)


def test_every_byte_flip_is_reported_or_measured(built):
    """Flip bytes of the image section and of the note outside the SIGSTRUCT:
    read() either refuses, lists a problem, or loads different measured pages."""
    path, image = built
    original = path.read_bytes()
    data = bytearray(original)
    good = binfmt.read(path)
    img_off = data.index(image)
    desc_off = data.index(good.note)
    desc_len = len(good.note) - 1808
    rng = random.Random(3)
    positions = [img_off + rng.randrange(len(image)) for _ in range(100)] + \
                [desc_off + rng.randrange(desc_len) for _ in range(200)]
    flipped = path.with_name("flipped")
    shape = [(r.offset, r.count, r.secinfo_flags, r.measured, r.content) for r in good.layout.runs]
    for pos in positions:
        data[pos] ^= rng.randrange(1, 256)
        flipped.write_bytes(data)
        try:
            b = binfmt.read(flipped)
        except SconeError as err:
            assert "\n" not in str(err)
        else:
            runs = [(r.offset, r.count, r.secinfo_flags, r.measured, r.content)
                    for r in b.layout.runs]
            assert b.problems or runs != shape, pos
        data[pos] = original[pos]


def test_bss_only_segment_is_a_zero_run(elf_maker):
    from scone_cc.enclave import note

    image = elf_maker([dict(type=1, flags=4, vaddr=0, offset=0, filesz=0x200, memsz=0x200),
                       dict(type=1, flags=5, vaddr=0x1000, offset=0x1000, filesz=0x10,
                            memsz=0x10),
                       dict(type=1, flags=6, vaddr=0x2000, offset=0x1000, filesz=0,
                            memsz=0x1800)], entry=0x1000, size=0x1010)
    # note.h: a run with no source bytes is SCONE_SRC_ZERO with zero src fields.
    desc = note.encode(layout.compute(image, PARAMS), image, None)
    assert struct.unpack_from("<QIHBBQQ", desc, 88 + 2 * 32) == (0x2000, 2, 0x203, 1, 0, 0, 0)
    assert struct.unpack_from("<QIHBBQQ", desc, 88 + 1 * 32) == (0x1000, 1, 0x205, 1, 1,
                                                                  0x1000, 0x10)


def test_write_into_missing_directory(tmp_path, starter, ld_image):
    image = ld_image.read_bytes()
    with pytest.raises(SconeError, match="cannot write"):
        binfmt.write(tmp_path / "no" / "app", starter=starter, image=image,
                     layout=layout.compute(image, PARAMS), sigstruct=None)


def test_note_padding_and_fit_are_checked(built, tmp_path):
    path, _ = built
    data = bytearray(path.read_bytes())
    name_at = data.index(b"SCONE\0\0\0")
    for pos, what in ((name_at + 6, "padding"), (name_at - 12, "SCONE note")):
        bad = bytearray(data)
        bad[pos] ^= 1
        (tmp_path / "bad").write_bytes(bad)
        with pytest.raises(SconeError, match=what):
            binfmt.read(tmp_path / "bad")
