"""The enclave's pages: the contract between layout, measurement and loader.

The layout (``scone_cc.enclave.layout``) turns an enclave image and the signed
parameters into an ordered tuple of ``PageRun``s. Measurement
(``scone_cc.sgx.measure``) replays exactly that order: ECREATE, then for each
page an EADD and, if measured, 16 EEXTENDs (docs/sgx-spec.md §1, §8.10). The C
loader in the starter follows the same runs, serialised into ``.note.scone``.

Pure data, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterator

PAGE_SIZE = 4096

# SECINFO.FLAGS permission bits (sgx-spec §2).
R, W, X = 1, 2, 4


class PageType(enum.IntEnum):
    """SECINFO.FLAGS page type, bits 15:8 (sgx-spec §2)."""

    TCS = 1
    REG = 2


@dataclass(frozen=True)
class PageRun:
    """``count`` consecutive pages starting at enclave offset ``offset``.

    ``content`` is the initial bytes of the run, at most ``count * PAGE_SIZE``;
    the remainder is zero. For a TCS run ``perms`` is 0 (a TCS is added with
    SECINFO 0x100, sgx-spec §8.6). ``measured`` runs get 16 EEXTENDs per page
    after their EADD; unmeasured ones (heap, stacks) only the EADD.
    ``what`` names the run for people (``"image .text"``, ``"heap"``,
    ``"tcs[0]"``): it is never hashed.
    """

    offset: int
    count: int
    type: PageType
    perms: int
    measured: bool
    content: bytes = b""
    what: str = ""

    def __post_init__(self):
        if self.offset % PAGE_SIZE or self.offset < 0:
            raise ValueError(f"{self.what}: offset {self.offset:#x} is not 4 KiB aligned")
        if self.count <= 0:
            raise ValueError(f"{self.what}: empty run")
        if len(self.content) > self.count * PAGE_SIZE:
            raise ValueError(f"{self.what}: content longer than the run")
        if self.type == PageType.TCS and self.perms:
            raise ValueError(f"{self.what}: a TCS page carries no permission bits")
        if self.type == PageType.REG and (self.perms & W) and not (self.perms & R):
            raise ValueError(f"{self.what}: W without R is #GP in EADD")

    @property
    def secinfo_flags(self) -> int:
        """SECINFO.FLAGS as hashed by EADD: ``(type << 8) | perms``."""
        return (int(self.type) << 8) | self.perms

    @property
    def end(self) -> int:
        return self.offset + self.count * PAGE_SIZE

    def page(self, i: int) -> bytes:
        """The 4096 bytes of page ``i`` of the run (zero-padded)."""
        chunk = self.content[i * PAGE_SIZE:(i + 1) * PAGE_SIZE]
        return chunk + bytes(PAGE_SIZE - len(chunk))


@dataclass(frozen=True)
class EnclaveParams:
    """The signed parameters: each one changes MRENCLAVE or SIGSTRUCT.

    Sizes are bytes, multiples of 4 KiB. ``ssa_frame_pages`` is
    SECS.SSAFRAMESIZE in pages (sgx-spec §8.9).
    """

    heap_size: int = 64 << 20
    stack_size: int = 1 << 20
    tcs_count: int = 8
    nssa: int = 2
    ssa_frame_pages: int = 1
    debug: bool = True
    isvprodid: int = 0
    isvsvn: int = 0
    # File-system shield regions (prefix, mode, key source), canonical order:
    # scone_cc/enclave/fspolicy.py; measured in the config page.
    fs: tuple = ()
    # Expected volume tags ((prefix, 32 bytes), ...) of some of those regions,
    # in prefix order; measured with them (fspolicy.encode).
    fs_tags: tuple = ()
    # SHA-256 of the CAS's public key (scone-cas identity), 32 bytes, or
    # empty: no CAS is ever contacted. Measured in the config page.
    cas_key: bytes = b""
    # Network shield endpoints, canonical order: scone_cc/enclave/netpolicy.py;
    # measured in the config page after the file-system policy.
    net: tuple = ()
    # The console shield: fd 0/1/2 framed and encrypted (runtime/shield/console);
    # a flag of the config page.
    console: bool = False


@dataclass(frozen=True)
class Layout:
    """The whole enclave: SECS.SIZE, SSAFRAMESIZE and the ordered page runs."""

    size: int
    ssa_frame_pages: int
    runs: tuple[PageRun, ...]

    def pages(self) -> Iterator[tuple[PageRun, int, int]]:
        """Yield ``(run, page_offset, index_in_run)`` in measurement order."""
        for run in self.runs:
            for i in range(run.count):
                yield run, run.offset + i * PAGE_SIZE, i
