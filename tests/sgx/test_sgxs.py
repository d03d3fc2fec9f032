"""SGXS (rust-sgx doc/SGXS.md): the measured stream, hashed by hashlib, parsed back."""

import hashlib
import struct

import pytest

from scone_cc.errors import SconeError
from scone_cc.sgx import sgxs
from scone_cc.sgx.pages import R, W, X, Layout, PageRun, PageType

from .conftest import hand_records

LAYOUT = Layout(0x8000, 1, (
    PageRun(0x0, 1, PageType.REG, R | X, True, b"\x90" * 300, "code"),
    PageRun(0x1000, 2, PageType.REG, R | W, False, b"", "heap"),
    PageRun(0x4000, 1, PageType.REG, R, True, b"cfg", "config"),
))


def expected_stream():
    return b"".join(hand_records(0x8000, 1, [
        (0x0, 0x205, b"\x90" * 300), (0x1000, 0x203, None), (0x2000, 0x203, None),
        (0x4000, 0x201, b"cfg")]))


def test_sgxs_is_the_measured_stream():
    data = sgxs.write_sgxs(LAYOUT)
    assert data == expected_stream()
    assert len(data) == 64 + 4 * 64 + 2 * 16 * 320
    assert sgxs.mrenclave_of_sgxs(data) == hashlib.sha256(expected_stream()).digest()
    assert sgxs.canonical_problems(data) == []


def test_reader_structure():
    recs = list(sgxs.read_records(sgxs.write_sgxs(LAYOUT)))
    assert [r.tag for r in recs[:3]] == ["ECREATE", "EADD", "EEXTEND"]
    assert recs[2].offset == 0 and recs[3].offset == 0x100 and len(recs[2].data) == 256
    assert [r.offset for r in recs if r.tag == "EADD"] == [0, 0x1000, 0x2000, 0x4000]


def test_unmeasrd_records_are_skipped():
    data = sgxs.write_sgxs(LAYOUT)
    extra = b"UNMEASRD" + struct.pack("<Q", 0x1000) + bytes(48) + b"\x55" * 256
    pos = 64 + 64 + 16 * 320 + 64      # after the first heap EADD
    assert sgxs.mrenclave_of_sgxs(data[:pos] + extra + data[pos:]) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("cut", [1, 63, 65, 64 + 64 + 100])
def test_truncated_streams_are_refused(cut):
    with pytest.raises(SconeError, match="truncated|data bytes"):
        sgxs.mrenclave_of_sgxs(expected_stream()[:cut])


def test_bad_streams_are_refused():
    data = expected_stream()
    with pytest.raises(SconeError, match="unknown tag"):
        sgxs.mrenclave_of_sgxs(data[:64] + b"EWHAT\0\0\0" + bytes(56))
    with pytest.raises(SconeError, match="start with ECREATE"):
        sgxs.mrenclave_of_sgxs(data[64:])
    with pytest.raises(SconeError, match="first record"):
        sgxs.mrenclave_of_sgxs(data + data[:64])
    with pytest.raises(SconeError, match="empty"):
        sgxs.mrenclave_of_sgxs(b"")


def test_canonicality():
    first = b"EADD\0\0\0\0" + struct.pack("<QQ", 0x2000, 0x203) + bytes(40)
    second = b"EADD\0\0\0\0" + struct.pack("<QQ", 0x1000, 0x203) + bytes(40)
    data = expected_stream()[:64] + first + second
    assert any("not above" in p for p in sgxs.canonical_problems(data))
