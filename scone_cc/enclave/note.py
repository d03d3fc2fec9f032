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


def _secinfo_problem(s: int) -> str | None:
    # notecheck.c secinfo_problem: what EADD and the Linux driver accept.
    kind, perm = s >> 8, s & 0xFF
    if kind == PageType.TCS:
        return "a TCS page must have SECINFO 0x100 exactly" if perm else None
    if kind != PageType.REG:
        return "page type is neither PT_REG nor PT_TCS"
    if perm & ~7:
        return "reserved or SGX2 SECINFO bits are set"
    if perm & 2 and not perm & 1:
        return "writable without readable"
    return None


def _image_run_matches_load(image: bytes, r: dict) -> bool:
    # notecheck.c image_run_matches_load: exactly one PT_LOAD of the image.
    import struct

    if len(image) < 64 or image[:4] != b"\x7fELF":
        return False
    phoff, = struct.unpack_from("<Q", image, 32)
    phentsize, phnum = struct.unpack_from("<HH", image, 54)
    if phentsize != 56 or phoff > len(image) or phnum * 56 > len(image) - phoff:
        return False
    for i in range(phnum):
        ptype, _f, off, vaddr, _p, filesz, memsz, _a = struct.unpack_from(
            "<IIQQQQQQ", image, phoff + i * 56)
        if ptype != 1 or off != r["src_offset"]:
            continue
        return (filesz == r["src_size"] and vaddr == r["offset"] and filesz <= memsz <= 1 << 47
                and -(-memsz // PAGE_SIZE) == r["count"])
    return False


def validate(dec: Decoded, desc_size: int, image: bytes, where: str) -> None:
    """Every check the starter makes on a note (notecheck.c scone_note_parse and
    scone_note_check_image but the image's SHA-256), with the same limits
    (abi.NOTE_*): a note one reader refuses, the other refuses too.
    """
    def fail(what: str):
        raise SconeError(f"{where}: .note.scone: {what}; the binary is damaged, rebuild it")

    h = dec.header
    size = h["enclave_size"]
    if size < abi.NOTE_MIN_SIZE or size & (size - 1) or size > abi.NOTE_MAX_SIZE:
        fail(f"enclave_size {size:#x} is not a power of two in [8 KiB, 128 TiB]")
    if not 1 <= h["ssa_frame_pages"] <= abi.NOTE_MAX_SSA_FRAME_PAGES:
        fail(f"ssa_frame_pages {h['ssa_frame_pages']} outside [1, {abi.NOTE_MAX_SSA_FRAME_PAGES}]")
    if not 1 <= h["nruns"] <= abi.NOTE_MAX_RUNS:
        fail(f"nruns {h['nruns']} outside [1, 2^20]")
    if h["runs_offset"] != abi.NOTE_HEADER.size:
        fail(f"runs_offset {h['runs_offset']}, expected {abi.NOTE_HEADER.size}")
    if h["blob_offset"] != h["runs_offset"] + h["nruns"] * abi.NOTE_RUN.size:
        fail(f"blob_offset {h['blob_offset']} does not follow the runs")
    if h["sigstruct_offset"] != h["blob_offset"] + h["blob_size"]:
        fail(f"sigstruct_offset {h['sigstruct_offset']} does not follow the blob")
    if h["sigstruct_offset"] + abi.SIGSTRUCT_SIZE != desc_size:
        fail(f"descriptor is {desc_size} bytes, expected {h['sigstruct_offset'] + abi.SIGSTRUCT_SIZE}")
    if h["image_size"] != len(image):
        fail(f"image_size {h['image_size']} but section .scone.enclave has {len(image)} bytes")
    if any(h["reserved"]):
        fail("reserved header bytes are not zero")
    blob_next = 0
    cfg = None
    spans = []
    for i, r in enumerate(dec.runs):
        nbytes = r["count"] * PAGE_SIZE
        if r["offset"] % PAGE_SIZE or not r["count"] or r["offset"] >= size or \
                nbytes > size - r["offset"]:
            fail(f"run {i} (offset {r['offset']:#x}, {r['count']} pages) is not page-aligned "
                 "inside SIZE")
        why = _secinfo_problem(r["secinfo"])
        if why:
            fail(f"run {i}: SECINFO {r['secinfo']:#x}: {why}")
        if r["measured"] > 1 or r["source"] > abi.SRC_BLOB:
            fail(f"run {i}: measured {r['measured']} / source {r['source']} out of range")
        if (r["source"] == abi.SRC_ZERO or not r["measured"]) and \
                (r["source"] != abi.SRC_ZERO or r["src_offset"] or r["src_size"]):
            fail(f"run {i}: an unmeasured or zero run must be SCONE_SRC_ZERO with zero src fields")
        if r["source"] != abi.SRC_ZERO:
            limit = len(image) if r["source"] == abi.SRC_IMAGE else h["blob_size"]
            if not r["src_size"] or r["src_size"] > nbytes or r["src_offset"] > limit or \
                    r["src_size"] > limit - r["src_offset"]:
                fail(f"run {i}: source bytes [{r['src_offset']:#x}, +{r['src_size']:#x}) outside "
                     f"the {'image' if r['source'] == abi.SRC_IMAGE else 'blob'}")
        if r["source"] == abi.SRC_BLOB:
            if r["src_offset"] != blob_next:
                fail(f"run {i}: blob bytes start at {r['src_offset']:#x}, expected "
                     f"{blob_next:#x} (blob runs must tile the blob in order)")
            blob_next = r["src_offset"] + r["src_size"]
            if r["secinfo"] == 0x100:
                tcs = dec.blob[r["src_offset"]:r["src_offset"] + r["src_size"]]
                forced = tcs[0:8] + tcs[24:28] + tcs[40:48]
                if any(forced) or (len(tcs) > 8 and tcs[8] & 1):
                    fail(f"run {i}: TCS STATE, CSSA, AEP or DBGOPTIN is not zero")
        if r["source"] == abi.SRC_IMAGE and not _image_run_matches_load(image, r):
            fail(f"run {i}: image bytes [{r['src_offset']:#x}, +{r['src_size']:#x}) at "
                 f"{r['offset']:#x} are not exactly a PT_LOAD of the image")
        spans.append((r["offset"], r["offset"] + nbytes, i))
        if r["offset"] == h["config_offset"]:
            cfg = r
    spans.sort()
    for (lo_a, hi_a, a), (lo_b, _hi_b, b) in zip(spans, spans[1:]):
        if lo_b < hi_a:
            fail(f"runs {min(a, b)} and {max(a, b)} overlap")
    if blob_next != h["blob_size"]:
        fail(f"the blob runs cover {blob_next:#x} bytes of a {h['blob_size']:#x}-byte blob")
    if cfg is None or cfg["count"] != 1 or cfg["source"] != abi.SRC_BLOB or not cfg["measured"] \
            or cfg["secinfo"] != 0x201 or cfg["src_size"] < abi.CONFIG.size:
        fail(f"config_offset {h['config_offset']:#x} is not a measured read-only page of the blob")
    c = abi.CONFIG.unpack(dec.blob, cfg["src_offset"])
    if c["magic"] != abi.CONFIG_MAGIC or c["version"] != abi.CONFIG_VERSION or \
            c["enclave_size"] != size or c["image_end"] != h["config_offset"] or \
            not 1 <= c["tcs_count"] <= abi.MAX_TCS or c["ssa_frame_pages"] != h["ssa_frame_pages"]:
        fail("the config page disagrees with the note (magic, version, size, TCS count or SSA)")
    tcs_runs = [(r["offset"], r["offset"] + r["count"] * PAGE_SIZE)
                for r in dec.runs if r["secinfo"] == 0x100]
    for t in range(c["tcs_count"]):
        tcs = abi.THREAD_LAYOUT.unpack(dec.blob, cfg["src_offset"] + abi.CONFIG_THREADS_OFFSET
                                       + t * abi.THREAD_LAYOUT.size)["tcs"]
        if tcs % PAGE_SIZE or not any(lo <= tcs < hi for lo, hi in tcs_runs):
            fail(f"thread {t}'s TCS offset {tcs:#x} is not a TCS page")
