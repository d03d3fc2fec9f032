"""The enclave layout: every page, in the order the loader adds and measures it.

Pure: ``compute(image, params)`` turns the enclave image and the signed
parameters into a ``Layout`` (scone_cc/sgx/pages.py). The order of runs is the
memory map of ``runtime/include/scone/enclave_abi.h``; the page rules are
docs/sgx-spec.md §8 (SIZE a power of two, heap EADDed but not EEXTENDed, guard
pages never added, TCS with SECINFO 0x100, SSA frames measured).
"""

from __future__ import annotations

import hashlib

from scone_cc.enclave import abi, elfimage, fspolicy, netpolicy
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import PAGE_SIZE, R, W, EnclaveParams, Layout, PageRun, PageType

# sgx-spec §4: FS/GSLIMIT only matter to 32-bit enclaves; all ones is "no limit".
SEG_LIMIT = 0xFFFFFFFF

# The largest enclave we lay out. SECS.SIZE is the next power of two at or
# above image + heap + TCS x (guard + stack + TCS + SSA + thread page), and
# every page of it is reserved at start and every added page is measured (a
# 1 TiB heap is 268 million EADD records: minutes of signing and start-up).
# 64 GiB is far above what SGX hardware's EPC holds; raise it here if needed.
MAX_ENCLAVE_SIZE = 64 << 30


def check_fits(params: EnclaveParams, image_end: int = 0) -> int:
    """SECS.SIZE for ``params`` and an image of ``image_end`` bytes; SconeError if
    it exceeds MAX_ENCLAVE_SIZE (64 GiB), naming what takes the room."""
    per_thread = PAGE_SIZE + params.stack_size + PAGE_SIZE * (2 + params.nssa * params.ssa_frame_pages)
    end = image_end + PAGE_SIZE + params.heap_size + params.tcs_count * per_thread
    size = max(8192, 1 << (end - 1).bit_length())
    if size > MAX_ENCLAVE_SIZE:
        raise SconeError(
            f"enclave parameters: heap {_gib(params.heap_size)} + {params.tcs_count} threads x "
            f"stack {_gib(params.stack_size)} (+ image) need an enclave of {_gib(size)} (SGX "
            f"enclave sizes are powers of two); the most scone lays out is "
            f"{_gib(MAX_ENCLAVE_SIZE)}: lower the heap (--scone-heap/--heap), the stack or the TCS count")
    return size


def _gib(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:g} {unit}" if value < 1e6 else f"{n >> shift} {unit}"
    return f"{n} bytes"


def compute(image: bytes, params: EnclaveParams) -> Layout:
    """Lay out the enclave for ``image`` (an ELF static-pie) and ``params``.

    Runs, in this order (enclave_abi.h memory map): the image's PT_LOADs
    (measured, file bytes, zero tails), the config page (R, measured), the
    heap (RW, unmeasured), then per TCS i: a guard page (a gap, never added),
    the stack (RW, unmeasured), the TCS (sgx-spec §4, measured), the SSA
    frames (RW zero, measured) and the thread page (RW, measured). SECS.SIZE
    is the next power of two >= the end, at least 8192 (sgx-spec §3, §8.8).
    Raises SconeError on a bad image or bad parameters.
    """
    _check_params(params)
    img = elfimage.parse(image)
    check_fits(params, img.end)
    runs = [PageRun(s.page_offset, s.pages, PageType.REG, s.perms, True,
                    image[s.file_start:s.file_end], f"image PT_LOAD[{s.index}]")
            for s in img.segments]

    config_offset = img.end
    heap_offset = config_offset + PAGE_SIZE
    ssa_pages = params.nssa * params.ssa_frame_pages
    threads = []
    cursor = heap_offset + params.heap_size
    for _ in range(params.tcs_count):
        stack_lo = cursor + PAGE_SIZE  # the guard page below the stack is a gap
        tcs = stack_lo + params.stack_size
        ssa = tcs + PAGE_SIZE
        thread = ssa + ssa_pages * PAGE_SIZE
        threads.append(dict(tcs=tcs, ssa=ssa, stack_lo=stack_lo, stack_hi=tcs, thread=thread))
        cursor = thread + PAGE_SIZE
    size = max(8192, 1 << (cursor - 1).bit_length())

    config = abi.CONFIG.pack(
        magic=abi.CONFIG_MAGIC, version=abi.CONFIG_VERSION, tcs_count=params.tcs_count,
        enclave_size=size, image_end=config_offset, heap_offset=heap_offset,
        heap_size=params.heap_size, stack_size=params.stack_size, nssa=params.nssa,
        ssa_frame_pages=params.ssa_frame_pages,
        flags=(abi.CONFIG_DEBUG if params.debug else 0) | (abi.CONFIG_CAS if params.cas_key else 0)
        | (abi.CONFIG_CONSOLE if params.console else 0),
        image_sha256=hashlib.sha256(image).digest(),
        cas_key_sha256=params.cas_key or bytes(32))
    config = bytearray(config)
    for i, t in enumerate(threads):
        off = abi.CONFIG_THREADS_OFFSET + i * abi.THREAD_LAYOUT.size
        config[off:off + abi.THREAD_LAYOUT.size] = abi.THREAD_LAYOUT.pack(**t)
    if params.fs or params.net:   # without regions the page stays what it was: zero, same MRENCLAVE
        config += fspolicy.encode(params.fs, params.fs_tags)
    if params.net:                # the network policy follows the file-system one
        netpolicy.check_keys(params.net, params.fs, params.debug)
        netpolicy.check_cas(params.net, bool(params.cas_key))
        config += netpolicy.encode(params.net)
        if len(config) > PAGE_SIZE:
            raise SconeError(f"file-system and network policies: {len(config) - abi.CONFIG_FS_OFFSET} "
                             f"bytes do not fit the config page's {abi.CONFIG_FS_SIZE}; use fewer "
                             "endpoints or shorter paths")
    runs.append(PageRun(config_offset, 1, PageType.REG, R, True, bytes(config), "config"))
    if params.heap_size:
        runs.append(PageRun(heap_offset, params.heap_size // PAGE_SIZE, PageType.REG,
                            R | W, False, b"", "heap"))

    for i, t in enumerate(threads):
        tcs = abi.TCS.pack(ossa=t["ssa"], nssa=params.nssa, oentry=img.entry,
                           ofsbase=t["thread"], ogsbase=t["thread"],
                           fslimit=SEG_LIMIT, gslimit=SEG_LIMIT)
        thread = abi.THREAD.pack(self=t["thread"], tcs=t["tcs"], stack_hi=t["stack_hi"], index=i)
        runs += [
            PageRun(t["stack_lo"], params.stack_size // PAGE_SIZE, PageType.REG, R | W,
                    False, b"", f"stack[{i}]"),
            PageRun(t["tcs"], 1, PageType.TCS, 0, True, tcs, f"tcs[{i}]"),
            PageRun(t["ssa"], ssa_pages, PageType.REG, R | W, True, b"", f"ssa[{i}]"),
            PageRun(t["thread"], 1, PageType.REG, R | W, True, thread, f"thread[{i}]"),
        ]
    return Layout(size=size, ssa_frame_pages=params.ssa_frame_pages, runs=tuple(runs))


def _check_params(p: EnclaveParams) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise SconeError(f"enclave parameters: {what}")

    need(p.heap_size >= 0 and p.heap_size % PAGE_SIZE == 0,
         f"heap size {p.heap_size} is not a multiple of 4096; use e.g. --heap 64M")
    need(p.stack_size > 0 and p.stack_size % PAGE_SIZE == 0,
         f"stack size {p.stack_size} is not a positive multiple of 4096; use e.g. --stack 256K")
    need(1 <= p.tcs_count <= abi.MAX_TCS,
         f"TCS count {p.tcs_count} is outside 1..{abi.MAX_TCS}; use e.g. --tcs 8")
    need(1 <= p.nssa <= 0xFFFFFFFF, f"SSA frame count {p.nssa} must be at least 1")
    need(1 <= p.ssa_frame_pages <= 0xFFFFFFFF,
         f"SSA frame size {p.ssa_frame_pages} pages must be at least 1")
