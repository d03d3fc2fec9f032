"""MRENCLAVE records against the spec's example and hand-assembled records (sgx-spec §1)."""

import hashlib
import os
import random
import struct

import pytest

from scone_cc.errors import SconeError
from scone_cc.sgx import measure
from scone_cc.sgx.pages import PAGE_SIZE, R, W, X, Layout, PageRun, PageType

from .conftest import hand_mrenclave_of_layout, hand_records


def test_ecreate_example_from_the_spec():
    # sgx-spec §1.1: SSAFRAMESIZE = 1, SIZE = 0x2000.
    expected = bytes.fromhex("4543524541544500" "01000000" "0020000000000000") + bytes(44)
    assert measure.ecreate_record(0x2000, 1) == expected


def test_eadd_and_eextend_records_by_hand():
    assert measure.eadd_record(0x5000, 0x203) == (
        b"EADD\0\0\0\0" + struct.pack("<QQ", 0x5000, 0x203) + bytes(40))
    chunk = bytes(range(256))
    assert measure.eextend_record(0x5100, chunk) == (
        b"EEXTEND\0" + struct.pack("<Q", 0x5100) + bytes(48) + chunk)
    assert struct.unpack("<Q", b"EEXTEND\0")[0] == measure.TAG_EEXTEND


def _tcs_bytes():
    # STATE, FLAGS (DBGOPTIN | AEXNOTIFY), OSSA, CSSA, NSSA, OENTRY, AEP: EADD zeroes some.
    return struct.pack("<QQQIIQQ", 7, 3, 0x4000, 9, 2, 0x1010, 0xAEAE)


def small_layout(content):
    return Layout(0x10000, 1, (
        PageRun(0x0, 2, PageType.REG, R | X, True, content, "code"),
        PageRun(0x2000, 3, PageType.REG, R | W, False, b"", "heap"),
        PageRun(0x6000, 1, PageType.TCS, 0, True, _tcs_bytes(), "tcs"),
        PageRun(0x7000, 1, PageType.REG, R | W, True, b"", "ssa"),
    ))


def test_records_and_mrenclave_match_hand_assembly():
    content = bytes((i * 7 + 3) & 0xFF for i in range(5000))   # partial second page
    lay = small_layout(content)
    pages = [(0x0, 0x205, content[:4096]), (0x1000, 0x205, content[4096:]),
             (0x2000, 0x203, None), (0x3000, 0x203, None), (0x4000, 0x203, None),
             (0x6000, 0x100, _tcs_bytes()), (0x7000, 0x203, b"")]
    expected = hand_records(0x10000, 1, pages)
    assert list(measure.records(lay)) == expected
    assert len(expected) == 1 + 7 + 4 * 16
    assert measure.mrenclave(lay) == hashlib.sha256(b"".join(expected)).digest()
    assert b"".join(measure.stream(lay)) == b"".join(expected)


def test_fast_stream_equals_records_on_random_layouts():
    rng = random.Random(1234)
    for _ in range(5):
        runs, offset = [], 0
        for i in range(rng.randint(1, 6)):
            count = rng.choice([1, 2, 63, 64, 65, 130])
            kind = rng.choice(["code", "heap", "tcs"])
            if kind == "tcs":
                runs.append(PageRun(offset, 1, PageType.TCS, 0, True, _tcs_bytes(), f"t{i}"))
                count = 1
            else:
                measured = kind == "code"
                content = os.urandom(rng.randint(0, count * PAGE_SIZE)) if measured else b""
                runs.append(PageRun(offset, count, PageType.REG, R | W, measured, content, f"r{i}"))
            offset += (count + rng.randint(0, 2)) * PAGE_SIZE
        size = max(8192, 1 << (offset - 1).bit_length())
        lay = Layout(size, 2, tuple(runs))
        assert b"".join(measure.stream(lay)) == b"".join(measure.records(lay))


def test_tcs_measured_as_stored_after_eadd():
    lay = small_layout(b"")
    rec = [r for r in measure.records(lay) if r.startswith(b"EEXTEND") and
           struct.unpack_from("<Q", r, 8)[0] == 0x6000][0]
    body = rec[64:]
    assert body[0:8] == bytes(8) and body[24:28] == bytes(4) and body[40:48] == bytes(8)
    assert body[8] == 2                                   # DBGOPTIN dropped, AEXNOTIFY kept
    assert struct.unpack_from("<QIIQ", body, 16) == (0x4000, 0, 2, 0x1010)


def test_heap_pages_are_added_not_extended():
    lay = small_layout(b"")
    heap = [r for r in measure.records(lay) if 0x2000 <= struct.unpack_from("<Q", r, 8)[0] < 0x5000]
    assert all(r.startswith(b"EADD") for r in heap) and len(heap) == 3


def test_bad_layouts_are_refused():
    with pytest.raises(SconeError, match="power of two"):
        measure.mrenclave(Layout(0x3000, 1, (PageRun(0, 1, PageType.REG, R, True),)))
    with pytest.raises(SconeError, match="past SIZE"):
        measure.mrenclave(Layout(0x2000, 1, (PageRun(0x1000, 2, PageType.REG, R, True),)))
    with pytest.raises(SconeError, match="overlap"):
        measure.mrenclave(Layout(0x4000, 1, (PageRun(0, 2, PageType.REG, R, True),
                                             PageRun(0x1000, 1, PageType.REG, R, True))))


def test_64mib_heap_layout():
    image = os.urandom(2 << 20)
    lay = Layout(1 << 27, 1, (
        PageRun(0, len(image) // PAGE_SIZE, PageType.REG, R | X, True, image, "image"),
        PageRun(len(image), (64 << 20) // PAGE_SIZE, PageType.REG, R | W, False, b"", "heap"),
    ))
    assert measure.mrenclave(lay) == hand_mrenclave_of_layout(lay)
