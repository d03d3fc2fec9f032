"""Read and vet the enclave image: an x86-64 static-pie ELF linked at 0.

Only the ELF header, program headers and the dynamic section are read, with
``struct`` (no ELF library): this runs on every link. Everything the enclave
must never hold is refused here with one ``SconeError`` naming the image, the
segment and the fix (DESIGN.md §3, issue 3 item 1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from scone_cc.errors import SconeError
from scone_cc.sgx.pages import PAGE_SIZE, R, W, X

ET_DYN, EM_X86_64 = 3, 62
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W, PF_R = 1, 2, 4
DT_NULL, DT_PLTRELSZ, DT_TEXTREL, DT_JMPREL, DT_FLAGS, DF_TEXTREL = 0, 2, 22, 23, 30, 4

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr, 64 bytes
_PHDR = struct.Struct("<IIQQQQQQ")          # Elf64_Phdr, 56 bytes


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD, widened to whole pages as a page-granular loader maps it.

    ``page_offset``/``pages`` is the enclave range; the run's content is
    ``image[file_start:file_end]`` and the rest of the range is zero (the
    ``p_filesz < p_memsz`` tail included).
    """

    index: int
    page_offset: int
    pages: int
    perms: int
    file_start: int
    file_end: int

    @property
    def end(self) -> int:
        return self.page_offset + self.pages * PAGE_SIZE


@dataclass(frozen=True)
class Image:
    entry: int
    segments: tuple[Segment, ...]

    @property
    def end(self) -> int:
        """Page-aligned end of the highest segment: where the config page goes."""
        return self.segments[-1].end


def _perm_text(flags: int) -> str:
    return "".join(c if flags & b else "-" for c, b in (("R", PF_R), ("W", PF_W), ("X", PF_X)))


def parse(image: bytes, name: str = "enclave image") -> Image:
    """Vet ``image`` and return its entry point and page-widened PT_LOADs.

    Refuses (SconeError): non-ELF, not ELF64 little-endian x86-64, not ET_DYN,
    truncated headers or segments, PT_INTERP, text relocations, W+X or W-only
    segments, segments whose address and file offset differ modulo 4 KiB,
    overlapping segments (at page granularity), an entry point outside every
    executable segment.
    """
    if len(image) < 4 or image[:4] != b"\x7fELF":
        raise SconeError(f"{name}: not an ELF file (magic {image[:4].hex() or 'empty'}); "
                         "link the enclave image with scone-gcc")
    if len(image) < _EHDR.size:
        raise SconeError(f"{name}: truncated ELF header ({len(image)} bytes); relink it")
    (ident, e_type, e_machine, _v, e_entry, e_phoff, _sh, _fl, _eh,
     e_phentsize, e_phnum, _she, _shn, _shs) = _EHDR.unpack_from(image)
    if ident[4] != 2 or ident[5] != 1:
        raise SconeError(f"{name}: not a 64-bit little-endian ELF; build for x86-64")
    if e_machine != EM_X86_64:
        raise SconeError(f"{name}: machine {e_machine} is not x86-64 (62); build for x86-64")
    if e_type != ET_DYN:
        raise SconeError(f"{name}: ELF type {e_type} is not ET_DYN; the enclave image must "
                         "be a static-pie (link with -static-pie)")
    if e_phentsize != _PHDR.size or e_phnum == 0:
        raise SconeError(f"{name}: bad program header table (entsize {e_phentsize}, "
                         f"{e_phnum} entries); relink it")
    if e_phoff + e_phnum * _PHDR.size > len(image):
        raise SconeError(f"{name}: truncated: program headers end at "
                         f"{e_phoff + e_phnum * _PHDR.size:#x}, file is {len(image):#x} bytes")

    segments: list[Segment] = []
    for i in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz, p_memsz, _al = \
            _PHDR.unpack_from(image, e_phoff + i * _PHDR.size)
        where = f"{name}: program header {i}"
        if p_type == PT_INTERP:
            raise SconeError(f"{where}: PT_INTERP: the image asks for a dynamic loader; "
                             "link it -static-pie")
        if p_type in (PT_LOAD, PT_DYNAMIC) and p_offset + p_filesz > len(image):
            raise SconeError(f"{where}: truncated: segment bytes end at "
                             f"{p_offset + p_filesz:#x}, file is {len(image):#x} bytes")
        if p_type == PT_DYNAMIC:
            _check_dynamic(image[p_offset:p_offset + p_filesz], where)
        if p_type != PT_LOAD or p_memsz == 0:
            continue
        where += f" (PT_LOAD {_perm_text(p_flags)} at {p_vaddr:#x})"
        if p_filesz > p_memsz:
            raise SconeError(f"{where}: p_filesz {p_filesz:#x} > p_memsz {p_memsz:#x}; relink it")
        if (p_flags & PF_W) and (p_flags & PF_X):
            raise SconeError(f"{where}: writable and executable; an enclave page may not be "
                             "both (use linker_scripts/enclave.ld, no -z execstack/-N)")
        if (p_flags & PF_W) and not (p_flags & PF_R):
            raise SconeError(f"{where}: writable but not readable; SGX refuses W without R")
        delta = p_vaddr % PAGE_SIZE
        if p_offset % PAGE_SIZE != delta:
            raise SconeError(f"{where}: not page-aligned: address and file offset "
                             f"{p_offset:#x} differ modulo 4096; link with -z max-page-size=4096")
        start = p_vaddr - delta
        pages = -(-(p_vaddr + p_memsz - start) // PAGE_SIZE)
        if segments and start < segments[-1].end:
            raise SconeError(f"{where}: overlaps the page range of the previous PT_LOAD "
                             f"(ending at {segments[-1].end:#x}); each segment needs its own "
                             "pages (use linker_scripts/enclave.ld)")
        perms = (R if p_flags & PF_R else 0) | (W if p_flags & PF_W else 0) | \
                (X if p_flags & PF_X else 0)
        segments.append(Segment(i, start, pages, perms, p_offset - delta, p_offset + p_filesz))

    if not segments:
        raise SconeError(f"{name}: no loadable segment; relink it")
    if not any(s.perms & X and s.page_offset <= e_entry < s.end for s in segments):
        raise SconeError(f"{name}: entry point {e_entry:#x} is not in an executable "
                         "segment; the image must be linked with the scone runtime")
    return Image(e_entry, tuple(segments))


def _check_dynamic(dyn: bytes, where: str) -> None:
    for off in range(0, len(dyn) - 15, 16):
        tag, val = struct.unpack_from("<qQ", dyn, off)
        if tag == DT_NULL:
            return
        if tag in (DT_JMPREL, DT_PLTRELSZ) and val:
            raise SconeError(f"{where}: PLT/IFUNC relocations (.rela.plt/.rela.iplt) cannot be "
                             "applied inside the enclave; avoid IFUNC (__attribute__((ifunc)))")
        if tag == DT_TEXTREL or (tag == DT_FLAGS and val & DF_TEXTREL):
            raise SconeError(f"{where}: text relocations (DT_TEXTREL): enclave code pages "
                             "are measured and never written; compile every object with -fPIC")
