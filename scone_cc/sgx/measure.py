"""MRENCLAVE: the ECREATE / EADD / EEXTEND update records of a layout.

docs/sgx-spec.md §1: MRENCLAVE = SHA-256 of the 64-byte ECREATE record, then
for each page (in layout order) its 64-byte EADD record and, if measured, 16
EEXTEND records of 64 + 256 bytes. ``records`` yields them one by one (for
people and for ``diff``); ``stream`` yields the same bytes in large blocks
built with a few C-level strided copies per batch, so that hashing, not
Python, dominates; ``mrenclave`` hashes ``stream``. Pure: no I/O.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import sys
from array import array
from typing import Iterator

from scone_cc.errors import SconeError
from scone_cc.sgx.pages import PAGE_SIZE, Layout, PageRun, PageType
from scone_cc.sgx.structs import tcs_as_measured

# Tags are ASCII in memory order; read little-endian they are these u64s (§8.1).
TAG_ECREATE = 0x0045544145524345
TAG_EADD = 0x0000000044444145
TAG_EEXTEND = 0x00444E4554584545

CHUNK = 256
CHUNKS_PER_PAGE = PAGE_SIZE // CHUNK

_ECREATE = struct.Struct("<QIQ44x")      # SIZE at byte 12: packed, not aligned (§1.1)
_EADD = struct.Struct("<QQQ40x")
_EEXTEND_HDR = struct.Struct("<QQ48x")


def ecreate_record(size: int, ssa_frame_pages: int) -> bytes:
    """The 64-byte ECREATE record (sgx-spec §1.1)."""
    return _ECREATE.pack(TAG_ECREATE, ssa_frame_pages, size)


def eadd_record(offset: int, secinfo_flags: int) -> bytes:
    """The 64-byte EADD record: offset and the first 48 SECINFO bytes (§1.2)."""
    return _EADD.pack(TAG_EADD, offset, secinfo_flags)


def eextend_record(offset: int, chunk: bytes) -> bytes:
    """One EEXTEND: the 64-byte header and the 256 measured bytes (§1.3)."""
    if len(chunk) != CHUNK:
        raise ValueError(f"EEXTEND chunk of {len(chunk)} bytes, must be {CHUNK}")
    return _EEXTEND_HDR.pack(TAG_EEXTEND, offset) + bytes(chunk)


def layout_problems(layout: Layout) -> list[str]:
    """What makes ``layout`` impossible to build (sgx-spec §3, §8.5, §8.8), or []."""
    found = []
    size = layout.size
    if size < 8192 or size & (size - 1):
        found.append(f"enclave SIZE {size:#x} must be a power of two >= 8192")
    if layout.ssa_frame_pages < 1:
        found.append("SSAFRAMESIZE must be at least 1 page")
    spans = []
    for run in layout.runs:
        if run.end > size:
            found.append(f"run {run.what or hex(run.offset)} ends at {run.end:#x}, past SIZE {size:#x}")
        spans.append((run.offset, run.end, run.what or hex(run.offset)))
    spans.sort()
    for (_, end_a, what_a), (start_b, _, what_b) in zip(spans, spans[1:]):
        if start_b < end_a:
            found.append(f"runs {what_a} and {what_b} overlap at {start_b:#x}: a page is added twice")
    return found


def _checked(layout: Layout) -> Layout:
    found = layout_problems(layout)
    if found:
        raise SconeError("invalid enclave layout: " + "; ".join(found))
    return layout


def _measured_page(run: PageRun, i: int) -> bytes:
    page = run.page(i)
    return tcs_as_measured(page) if run.type == PageType.TCS else page


def labelled_records(layout: Layout) -> Iterator[tuple[str, int, PageRun | None, bytes]]:
    """``records`` with a label each: ``(kind, enclave offset, run, record)``.

    ``kind`` is ECREATE, EADD or EEXTEND; ``run`` is None for ECREATE.
    """
    _checked(layout)
    yield "ECREATE", 0, None, ecreate_record(layout.size, layout.ssa_frame_pages)
    for run, offset, i in layout.pages():
        yield "EADD", offset, run, eadd_record(offset, run.secinfo_flags)
        if run.measured:
            page = _measured_page(run, i)
            for k in range(CHUNKS_PER_PAGE):
                at = offset + k * CHUNK
                yield "EEXTEND", at, run, eextend_record(at, page[k * CHUNK:(k + 1) * CHUNK])


def records(layout: Layout) -> Iterator[bytes]:
    """Yield every update record in order: 64 bytes for ECREATE and EADD, 320 for EEXTEND.

    sgx-spec §1: the concatenation of these records is what EINIT hashes.
    """
    for *_, record in labelled_records(layout):
        yield record


# --- the fast path -----------------------------------------------------------
# A batch of measured pages is assembled in one reused buffer, so that the
# hash, not Python, dominates: the headers are written for the whole batch by
# strided u64 assignments (one per field), and the 256-byte chunks are moved
# by two precompiled Structs. Reusing the buffer also avoids paying page
# faults for fresh memory on every batch.

_BATCH_PAGES = 32
_UNMEASURED_BATCH_PAGES = 2048             # only 64 bytes of records per page
_PAGE_BYTES = 64 + CHUNKS_PER_PAGE * (64 + CHUNK)       # EADD + 16 EEXTENDs: 5184
_PAGE_WORDS = _PAGE_BYTES // 8


@functools.lru_cache(maxsize=4)
def _chunk_movers(pages: int) -> tuple[struct.Struct, struct.Struct]:
    # One Struct cuts the content into 256-byte chunks, the other places them
    # behind the (still zero) record headers; both run in C.
    split = struct.Struct(f"{CHUNK}s" * (CHUNKS_PER_PAGE * pages))
    place = struct.Struct(("64x" + f"64x{CHUNK}s" * CHUNKS_PER_PAGE) * pages)
    return split, place


class _Assembler:
    """Owns the reused buffers; yields views that are valid until the next block."""

    def __init__(self):
        self.measured = bytearray(_BATCH_PAGES * _PAGE_BYTES)
        self.unmeasured = bytearray(_UNMEASURED_BATCH_PAGES * 64)

    def unmeasured_block(self, offset: int, pages: int, flags: int) -> memoryview:
        view = memoryview(self.unmeasured)[:pages * 64]
        words = view.cast("Q")
        words[0::8] = array("Q", [TAG_EADD]) * pages
        words[1::8] = array("Q", range(offset, offset + pages * PAGE_SIZE, PAGE_SIZE))
        words[2::8] = array("Q", [flags]) * pages
        return view

    def measured_block(self, offset: int, pages: int, flags: int, content) -> memoryview:
        view = memoryview(self.measured)[:pages * _PAGE_BYTES]
        split, place = _chunk_movers(pages)
        place.pack_into(view, 0, *split.unpack(content))   # zero-fills the headers
        words = view.cast("Q")
        n, end = _PAGE_WORDS, offset + pages * PAGE_SIZE
        words[0::n] = array("Q", [TAG_EADD]) * pages
        words[1::n] = array("Q", range(offset, end, PAGE_SIZE))
        words[2::n] = array("Q", [flags]) * pages
        tag = array("Q", [TAG_EEXTEND]) * pages
        for k in range(CHUNKS_PER_PAGE):
            base = 8 + k * (64 + CHUNK) // 8
            words[base::n] = tag
            words[base + 1::n] = array("Q", range(offset + k * CHUNK, end, PAGE_SIZE))
        return view

    def run_blocks(self, run: PageRun) -> Iterator[memoryview]:
        flags = run.secinfo_flags
        batch = _BATCH_PAGES if run.measured else _UNMEASURED_BATCH_PAGES
        for first in range(0, run.count, batch):
            pages = min(batch, run.count - first)
            offset = run.offset + first * PAGE_SIZE
            if not run.measured:
                yield self.unmeasured_block(offset, pages, flags)
                continue
            if run.type == PageType.TCS:
                content = b"".join(_measured_page(run, first + i) for i in range(pages))
            else:
                content = run.content[first * PAGE_SIZE:(first + pages) * PAGE_SIZE]
                if len(content) < pages * PAGE_SIZE:
                    content += bytes(pages * PAGE_SIZE - len(content))
            yield self.measured_block(offset, pages, flags, content)


def _blocks(layout: Layout) -> Iterator[bytes | memoryview]:
    """The record stream in blocks; a memoryview is only valid until the next one."""
    _checked(layout)
    if sys.byteorder != "little":         # the u64 views assume x86's byte order
        yield from records(layout)
        return
    yield ecreate_record(layout.size, layout.ssa_frame_pages)
    asm = _Assembler()
    for run in layout.runs:
        yield from asm.run_blocks(run)


def stream(layout: Layout) -> Iterator[bytes]:
    """The bytes of ``records(layout)`` concatenated, in large blocks (sgx-spec §1)."""
    for block in _blocks(layout):
        yield bytes(block)


def mrenclave(layout: Layout) -> bytes:
    """MRENCLAVE of ``layout``: SHA-256 over the update records (sgx-spec §1)."""
    h = hashlib.sha256()
    for block in _blocks(layout):
        h.update(block)
    return h.digest()
