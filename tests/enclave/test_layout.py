"""Layout rules (docs/sgx-spec.md §3, §4, §8; enclave_abi.h memory map).

Expected offsets and bytes are worked out by hand from the spec and the
header, or read from the image with pyelftools; never from layout.compute.
"""

import hashlib
import io
import struct

import pytest
from elftools.elf.elffile import ELFFile

from scone_cc.enclave import layout
from scone_cc.sgx.pages import EnclaveParams

SMALL = EnclaveParams(heap_size=0x3000, stack_size=0x2000, tcs_count=2, nssa=2,
                      ssa_frame_pages=1, debug=True)


def rows(lay):
    return [(r.offset, r.count, r.secinfo_flags, r.measured) for r in lay.runs]


def test_hand_image_runs_in_memory_map_order(hand_image):
    lay = layout.compute(hand_image, SMALL)
    # Image end: the RW segment 0x2010 + 0x2000 ends in page 0x4000 -> 0x5000.
    # config 0x5000; heap 0x6000..0x9000; TCS 0: guard 0x9000, stack
    # 0xA000..0xC000, TCS 0xC000, SSA 0xD000..0xF000, thread 0xF000; TCS 1:
    # guard 0x10000, stack 0x11000, TCS 0x13000, SSA 0x14000, thread 0x16000;
    # end 0x17000 -> SIZE 0x20000.
    assert rows(lay) == [
        (0x0000, 1, 0x201, True), (0x1000, 1, 0x205, True), (0x2000, 3, 0x203, True),
        (0x5000, 1, 0x201, True), (0x6000, 3, 0x203, False),
        (0xA000, 2, 0x203, False), (0xC000, 1, 0x100, True),
        (0xD000, 2, 0x203, True), (0xF000, 1, 0x203, True),
        (0x11000, 2, 0x203, False), (0x13000, 1, 0x100, True),
        (0x14000, 2, 0x203, True), (0x16000, 1, 0x203, True),
    ]
    assert lay.size == 0x20000 and lay.ssa_frame_pages == 1
    # Content of image runs: whole file pages up to p_offset + p_filesz; the
    # RW run starts at its page (file 0x2000), the .bss tail is zero.
    assert lay.runs[0].content == hand_image[0:0x200]
    assert lay.runs[1].content == hand_image[0x1000:0x1020]
    assert lay.runs[2].content == hand_image[0x2000:0x2040]
    assert lay.runs[2].page(0)[0x10:0x40] == bytes(range(0x80, 0xB0))
    assert lay.runs[2].page(0)[0x40:] == bytes(0x1000 - 0x40)
    assert lay.runs[2].page(1) == bytes(4096)


def test_guard_pages_and_tail_never_added(hand_image):
    lay = layout.compute(hand_image, SMALL)
    added = {r.offset + i * 4096 for r in lay.runs for i in range(r.count)}
    for guard in (0x9000, 0x10000):
        assert guard not in added
    assert not any(p >= 0x17000 for p in added)
    assert len(added) == sum(r.count for r in lay.runs)  # no page added twice


def test_tcs_fields(hand_image):
    lay = layout.compute(hand_image, SMALL)
    for tcs_off, ssa, thread in ((0xC000, 0xD000, 0xF000), (0x13000, 0x14000, 0x16000)):
        run = next(r for r in lay.runs if r.offset == tcs_off)
        page = run.page(0)
        assert run.secinfo_flags == 0x100 and run.perms == 0 and run.measured
        # sgx-spec §4 offsets.
        assert struct.unpack_from("<Q", page, 0)[0] == 0         # STATE
        assert struct.unpack_from("<Q", page, 8)[0] == 0         # FLAGS
        assert struct.unpack_from("<Q", page, 16)[0] == ssa      # OSSA
        assert struct.unpack_from("<I", page, 24)[0] == 0        # CSSA
        assert struct.unpack_from("<I", page, 28)[0] == 2        # NSSA
        assert struct.unpack_from("<Q", page, 32)[0] == 0x1008   # OENTRY = e_entry
        assert struct.unpack_from("<Q", page, 40)[0] == 0        # AEP
        assert struct.unpack_from("<Q", page, 48)[0] == thread   # OFSBASE
        assert struct.unpack_from("<Q", page, 56)[0] == thread   # OGSBASE
        assert struct.unpack_from("<II", page, 64) == (0xFFFFFFFF, 0xFFFFFFFF)
        assert page[72:] == bytes(4096 - 72)                     # reserved zero


def test_ssa_measured_heap_and_stacks_not(hand_image):
    lay = layout.compute(hand_image, SMALL)
    by_off = {r.offset: r for r in lay.runs}
    for ssa in (0xD000, 0x14000):
        assert by_off[ssa].measured and by_off[ssa].perms == 3 and not by_off[ssa].content
    for unmeasured in (0x6000, 0xA000, 0x11000):
        assert not by_off[unmeasured].measured and by_off[unmeasured].perms == 3


def test_config_page_bytes(hand_image):
    lay = layout.compute(hand_image, SMALL)
    page = next(r for r in lay.runs if r.offset == 0x5000).page(0)
    # enclave_abi.h struct scone_enclave_config, offsets by hand.
    assert page[0:8] == b"USCONCFG"
    assert struct.unpack_from("<II", page, 8) == (1, 2)             # version, tcs_count
    assert struct.unpack_from("<5Q", page, 16) == (0x20000, 0x5000, 0x6000, 0x3000, 0x2000)
    assert struct.unpack_from("<II", page, 56) == (2, 1)            # nssa, ssa_frame_pages
    assert struct.unpack_from("<Q", page, 64)[0] == 1               # SCONE_CONFIG_DEBUG
    assert page[72:88] == bytes(16)
    assert page[88:120] == hashlib.sha256(hand_image).digest()
    assert page[120:208] == bytes(88)
    # threads[i] = {tcs, ssa, stack_lo, stack_hi, thread}, 40 bytes each.
    assert struct.unpack_from("<5Q", page, 208) == (0xC000, 0xD000, 0xA000, 0xC000, 0xF000)
    assert struct.unpack_from("<5Q", page, 248) == (0x13000, 0x14000, 0x11000, 0x13000, 0x16000)
    assert page[288:] == bytes(4096 - 288)


def test_config_flags_follow_debug(hand_image):
    prod = EnclaveParams(**{**SMALL.__dict__, "debug": False})
    page = next(r for r in layout.compute(hand_image, prod).runs if r.offset == 0x5000).page(0)
    assert struct.unpack_from("<Q", page, 64)[0] == 0


def test_thread_pages(hand_image):
    lay = layout.compute(hand_image, SMALL)
    for index, (thread, tcs) in enumerate(((0xF000, 0xC000), (0x16000, 0x13000))):
        page = next(r for r in lay.runs if r.offset == thread).page(0)
        # struct scone_thread: self, tcs, stack_hi, index, pad0; the rest zero.
        assert struct.unpack_from("<QQQII", page, 0) == (thread, tcs, tcs, index, 0)
        assert page[32:] == bytes(4096 - 32)


@pytest.mark.parametrize("heap,stack,tcs,nssa,frame", [
    (0, 0x1000, 1, 1, 1), (64 << 20, 256 << 10, 8, 2, 1), (0x1000, 0x3000, 3, 3, 2),
    (5 << 20, 0x1000, 64, 1, 4),
])
def test_size_is_next_power_of_two(hand_image, heap, stack, tcs, nssa, frame):
    p = EnclaveParams(heap_size=heap, stack_size=stack, tcs_count=tcs, nssa=nssa,
                      ssa_frame_pages=frame)
    lay = layout.compute(hand_image, p)
    # By hand: image 5 pages + config + heap, then per TCS guard + stack + TCS
    # + SSA + thread page.
    end = 0x6000 + heap + tcs * (0x1000 + stack + 0x1000 + nssa * frame * 0x1000 + 0x1000)
    assert lay.size >= max(end, 8192) and lay.size < 2 * max(end, 8192)
    assert lay.size & (lay.size - 1) == 0
    assert max(r.end for r in lay.runs) == end
    assert sum(1 for r in lay.runs if r.secinfo_flags == 0x100) == tcs


def test_real_gcc_image_matches_its_program_headers(gcc_image):
    data = gcc_image.read_bytes()
    elf = ELFFile(io.BytesIO(data))
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    lay = layout.compute(data, EnclaveParams(heap_size=0x10000, stack_size=0x4000, tcs_count=1))
    assert len(loads) >= 3
    for run, s in zip(lay.runs, loads):
        start = s["p_vaddr"] & ~0xFFF
        perms = (1 if s["p_flags"] & 4 else 0) | (2 if s["p_flags"] & 2 else 0) | \
                (4 if s["p_flags"] & 1 else 0)
        assert run.offset == start
        assert run.end == (s["p_vaddr"] + s["p_memsz"] + 0xFFF) & ~0xFFF
        assert run.secinfo_flags == 0x200 | perms and run.measured
        delta = s["p_vaddr"] - start
        assert run.content == data[s["p_offset"] - delta:s["p_offset"] + s["p_filesz"]]
    tcs = next(r for r in lay.runs if r.secinfo_flags == 0x100)
    assert struct.unpack_from("<Q", tcs.content, 32)[0] == elf.header["e_entry"]
    config = lay.runs[len(loads)]
    assert config.offset == lay.runs[len(loads) - 1].end


def test_real_enclave_ld_image(ld_image):
    data = ld_image.read_bytes()
    elf = ELFFile(io.BytesIO(data))
    loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    lay = layout.compute(data, EnclaveParams())
    assert [r.offset for r in lay.runs[:len(loads)]] == [s["p_vaddr"] for s in loads]
    assert lay.runs[len(loads)].what == "config"



def test_enclave_size_is_bounded(hand_image):
    """SECS.SIZE above 64 GiB is refused with one line (the documented maximum)."""
    from scone_cc.errors import SconeError

    big = EnclaveParams(heap_size=64 << 30, tcs_count=1)
    with pytest.raises(SconeError, match="need an enclave of 128 GiB.*64 GiB"):
        layout.compute(hand_image, big)
    ok = layout.compute(hand_image, EnclaveParams(heap_size=(64 << 30) - (1 << 20),
                                                   stack_size=256 << 10, tcs_count=1))
    assert ok.size == 64 << 30
