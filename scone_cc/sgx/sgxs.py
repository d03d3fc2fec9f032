"""The SGXS stream format (Fortanix rust-sgx, doc/SGXS.md).

An SGXS file is exactly the measured byte stream of docs/sgx-spec.md §1: a
64-byte ECREATE blob, then per page a 64-byte EADD blob and, for measured
content, EEXTEND blobs each followed by exactly 256 bytes of data. Pages that
are added but not measured (heap, stacks) appear as a bare EADD: a loader
fills them with zeros, which is what scone's layout puts there. Hashing the
file with SHA-256 gives MRENCLAVE. The enhanced format's UNMEASRD record
(an EEXTEND-shaped record whose data is loaded but not measured) is accepted
by the reader and skipped when measuring; the writer never emits it. Pure.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Iterator, NamedTuple

from scone_cc.errors import SconeError
from scone_cc.sgx.measure import stream
from scone_cc.sgx.pages import Layout

BLOB = 64
EEXTEND_DATA = 256
_TAGS = {
    b"ECREATE\0": "ECREATE",
    b"EADD\0\0\0\0": "EADD",
    b"EEXTEND\0": "EEXTEND",
    b"UNMEASRD": "UNMEASRD",
}


class SgxsRecord(NamedTuple):
    """One record: its tag name, byte position in the file, header and data."""

    tag: str
    position: int
    header: bytes
    data: bytes

    @property
    def offset(self) -> int:
        """Enclave offset of an EADD / EEXTEND / UNMEASRD record."""
        return struct.unpack_from("<Q", self.header, 8)[0]


def iter_sgxs(layout: Layout) -> Iterator[bytes]:
    """The SGXS stream of ``layout`` in blocks (sgx-spec §1; rust-sgx SGXS.md)."""
    return stream(layout)


def write_sgxs(layout: Layout) -> bytes:
    """The whole SGXS stream of ``layout``: its SHA-256 is MRENCLAVE."""
    return b"".join(stream(layout))


def read_records(data: bytes, name: str = "SGXS stream") -> Iterator[SgxsRecord]:
    """Parse ``data`` record by record; SconeError on an unknown tag or a truncation."""
    view = memoryview(data)
    pos = 0
    while pos < len(data):
        header = bytes(view[pos:pos + BLOB])
        if len(header) < BLOB:
            raise SconeError(f"{name}: truncated record at byte {pos} ({len(header)} of {BLOB} bytes)")
        tag = _TAGS.get(header[:8])
        if tag is None:
            raise SconeError(f"{name}: unknown tag {header[:8]!r} at byte {pos}; "
                             "expected ECREATE, EADD, EEXTEND or UNMEASRD")
        size = EEXTEND_DATA if tag in ("EEXTEND", "UNMEASRD") else 0
        payload = bytes(view[pos + BLOB:pos + BLOB + size])
        if len(payload) < size:
            raise SconeError(f"{name}: {tag} at byte {pos} has {len(payload)} of {size} data bytes")
        yield SgxsRecord(tag, pos, header, payload)
        pos += BLOB + size


def mrenclave_of_sgxs(data: bytes, name: str = "SGXS stream") -> bytes:
    """MRENCLAVE recomputed from an SGXS file, record by record (sgx-spec §1).

    Checks that the stream starts with its only ECREATE; UNMEASRD records
    (enhanced SGXS) are skipped, everything else is hashed as it stands.
    """
    h = hashlib.sha256()
    seen_ecreate = False
    for rec in read_records(data, name):
        if rec.tag == "ECREATE":
            if rec.position or seen_ecreate:
                raise SconeError(f"{name}: ECREATE at byte {rec.position}; it must be the first "
                                 "record and appear once")
            seen_ecreate = True
        elif not seen_ecreate:
            raise SconeError(f"{name}: the stream must start with ECREATE, found {rec.tag}")
        if rec.tag != "UNMEASRD":
            h.update(rec.header)
            h.update(rec.data)
    if not seen_ecreate:
        raise SconeError(f"{name}: empty stream (no ECREATE record)")
    return h.digest()


def canonical_problems(data: bytes, name: str = "SGXS stream") -> list[str]:
    """Where ``data`` breaks SGXS canonicality (rust-sgx SGXS.md), or []."""
    found = []
    last_eadd = -1
    page = None
    chunks: set[int] = set()
    for rec in read_records(data, name):
        if rec.tag == "ECREATE":
            if rec.position:
                found.append(f"byte {rec.position}: second ECREATE")
            continue
        off = rec.offset
        if rec.tag == "EADD":
            if off & 0xFFF:
                found.append(f"byte {rec.position}: EADD offset {off:#x} not page aligned")
            if off <= last_eadd:
                found.append(f"byte {rec.position}: EADD offset {off:#x} not above {last_eadd:#x}")
            last_eadd, page, chunks = off, off & ~0xFFF, set()
        else:
            if off & 0xFF:
                found.append(f"byte {rec.position}: {rec.tag} offset {off:#x} not 256-byte aligned")
            if page is None or off & ~0xFFF != page:
                found.append(f"byte {rec.position}: {rec.tag} offset {off:#x} outside the last EADD page")
            if off & 0xFFF in chunks:
                found.append(f"byte {rec.position}: {rec.tag} offset {off:#x} repeated")
            chunks.add(off & 0xFFF)
    return found
