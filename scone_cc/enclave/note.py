"""The ``.note.scone`` descriptor: encode a layout, decode what a file holds.

Format: ``runtime/include/scone/note.h``. The encoding is canonical, so the
loader can refuse any other byte string: runs at 88, the blob right after the
runs, the SIGSTRUCT right after the blob, the end of the descriptor right after
the SIGSTRUCT; image runs are SCONE_SRC_IMAGE with the file range of their
PT_LOAD (page-widened, elfimage.Segment; a PT_LOAD without file bytes is
SCONE_SRC_ZERO); runs with content that are not from
the image are SCONE_SRC_BLOB, their bytes laid one after another in run order;
runs without content (heap, stacks, SSA) are SCONE_SRC_ZERO with zero source
fields; reserved bytes are zero.

Pure, stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

from scone_cc.enclave import abi, elfimage
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import PAGE_SIZE, Layout, PageType


def encode(layout: Layout, image: bytes, sigstruct: bytes | None) -> bytes:
    """The canonical descriptor of ``.note.scone`` for ``layout`` (note.h).

    ``sigstruct`` None writes 1808 zero bytes (unsigned).
    """
    if sigstruct is None:
        sigstruct = bytes(abi.SIGSTRUCT_SIZE)
    if len(sigstruct) != abi.SIGSTRUCT_SIZE:
        raise SconeError(f"SIGSTRUCT is {len(sigstruct)} bytes, not {abi.SIGSTRUCT_SIZE}")
    segments = elfimage.parse(image).segments
    if len(layout.runs) <= len(segments):
        raise SconeError("layout does not match the enclave image: too few runs; "
                         "recompute it with scone_cc.enclave.layout.compute")
    runs, blob = [], bytearray()
    for i, run in enumerate(layout.runs):
        if i < len(segments):
            seg = segments[i]
            src = (abi.SRC_IMAGE, seg.file_start, seg.file_end - seg.file_start)
            if seg.file_end == seg.file_start:
                src = (abi.SRC_ZERO, 0, 0)  # a .bss-only segment: no file bytes
            if (run.offset, run.count) != (seg.page_offset, seg.pages) or \
                    run.content != image[seg.file_start:seg.file_end] or not run.measured:
                raise SconeError(f"layout does not match the enclave image at run {i} "
                                 f"({run.what}); recompute it with layout.compute")
        elif run.content:
            if not run.measured:
                raise SconeError(f"run {i} ({run.what}) has content but is not measured; "
                                 "the note can only carry zero unmeasured pages")
            src = (abi.SRC_BLOB, len(blob), len(run.content))
            blob += run.content
        else:
            src = (abi.SRC_ZERO, 0, 0)
        runs.append(abi.NOTE_RUN.pack(offset=run.offset, count=run.count,
                                      secinfo=run.secinfo_flags, measured=int(run.measured),
                                      source=src[0], src_offset=src[1], src_size=src[2]))
    config_offset = segments[-1].end
    runs_offset = abi.NOTE_HEADER.size
    blob_offset = runs_offset + len(runs) * abi.NOTE_RUN.size
    header = abi.NOTE_HEADER.pack(
        magic=abi.NOTE_MAGIC, version=abi.NOTE_VERSION, enclave_size=layout.size,
        ssa_frame_pages=layout.ssa_frame_pages, nruns=len(runs), runs_offset=runs_offset,
        blob_offset=blob_offset, blob_size=len(blob),
        sigstruct_offset=blob_offset + len(blob), image_size=len(image),
        config_offset=config_offset)
    return header + b"".join(runs) + bytes(blob) + sigstruct


@dataclass(frozen=True)
class Decoded:
    header: dict
    runs: tuple[dict, ...]
    blob: bytes
    sigstruct: bytes


def decode(desc: bytes, where: str) -> Decoded:
    """Split a descriptor into header, runs, blob and SIGSTRUCT (note.h).

    Checks only what is needed to read it safely (bounds, magic, version,
    SIZE a power of two, every run inside it);
    canonical form is checked by comparing with ``encode``.
    """
    if len(desc) < abi.NOTE_HEADER.size:
        raise SconeError(f"{where}: .note.scone is truncated ({len(desc)} bytes); rebuild it")
    h = abi.NOTE_HEADER.unpack(desc)
    if h["magic"] != abi.NOTE_MAGIC or h["version"] != abi.NOTE_VERSION:
        raise SconeError(f"{where}: .note.scone has magic {h['magic']:#x} version "
                         f"{h['version']}, expected {abi.NOTE_MAGIC:#x} version "
                         f"{abi.NOTE_VERSION}; rebuild it with this scone-gcc")
    runs_end = h["runs_offset"] + h["nruns"] * abi.NOTE_RUN.size
    blob_end = h["blob_offset"] + h["blob_size"]
    sig_end = h["sigstruct_offset"] + abi.SIGSTRUCT_SIZE
    if max(runs_end, blob_end, sig_end) > len(desc):
        raise SconeError(f"{where}: .note.scone is malformed: its parts end past the "
                         f"descriptor ({len(desc)} bytes); rebuild it")
    size = h["enclave_size"]
    if size < 8192 or size & (size - 1) or h["ssa_frame_pages"] == 0:
        raise SconeError(f"{where}: .note.scone is malformed: enclave size {size:#x} is not a "
                         f"power of two >= 8192 or SSA frame size is 0; rebuild it")
    runs = tuple(abi.NOTE_RUN.unpack(desc, h["runs_offset"] + i * abi.NOTE_RUN.size)
                 for i in range(h["nruns"]))
    for i, r in enumerate(runs):
        if r["offset"] % PAGE_SIZE or r["count"] == 0 or \
                r["offset"] + r["count"] * PAGE_SIZE > size or \
                r["src_size"] > r["count"] * PAGE_SIZE or \
                (r["secinfo"] >> 8) not in (PageType.REG, PageType.TCS) or \
                r["source"] not in (abi.SRC_ZERO, abi.SRC_IMAGE, abi.SRC_BLOB):
            raise SconeError(f"{where}: .note.scone run {i} is malformed "
                             f"(offset {r['offset']:#x}, {r['count']} pages, secinfo "
                             f"{r['secinfo']:#x}, source {r['source']}); rebuild it")
    return Decoded(h, runs, desc[h["blob_offset"]:blob_end],
                   desc[h["sigstruct_offset"]:sig_end])
