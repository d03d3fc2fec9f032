"""Find the scone parts inside a final binary by its section headers.

The starter finds the same parts the same way (section ``.scone.enclave``:
the image file; section ``.note.scone``: one ELF note, name "SCONE", type
SCONE_NOTE_ENCLAVE). Section headers are used rather than walking PT_NOTE
because lief merges notes of 4- and 8-byte alignment into one PT_NOTE.
Stdlib only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from scone_cc.enclave import abi
from scone_cc.errors import SconeError

IMAGE_SECTION = ".scone.enclave"
NOTE_SECTION = ".note.scone"
STARTER_SECTION = ".scone.starter"

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")      # Elf64_Shdr, 64 bytes
SHT_NOBITS = 8


@dataclass(frozen=True)
class Parts:
    """File ranges (offset, size) of the scone parts of a final binary."""

    image: tuple[int, int]
    desc: tuple[int, int]
    starter: tuple[int, int] | None


def sections(data: bytes, where: str) -> dict[str, tuple[int, int]]:
    """Map section name -> (file offset, size) for an ELF64 little-endian file.

    Only what DESIGN.md §4 needs: the section header table and its names.
    """
    if data[:4] != b"\x7fELF":
        raise SconeError(f"{where}: not an ELF file (magic {data[:4].hex() or 'empty'}); "
                         "pass a binary built by scone-gcc")
    if len(data) < _EHDR.size or data[4] != 2 or data[5] != 1:
        raise SconeError(f"{where}: truncated or not a 64-bit little-endian ELF file")
    fields = _EHDR.unpack_from(data)
    shoff, shentsize, shnum, shstrndx = fields[6], fields[11], fields[12], fields[13]
    if shnum == 0 or shentsize != _SHDR.size or shoff + shnum * _SHDR.size > len(data) \
            or shstrndx >= shnum:
        raise SconeError(f"{where}: truncated or malformed section header table; "
                         "the file is damaged, rebuild it")
    shdrs = [_SHDR.unpack_from(data, shoff + i * _SHDR.size) for i in range(shnum)]
    str_off, str_size = shdrs[shstrndx][4], shdrs[shstrndx][5]
    if str_off + str_size > len(data):
        raise SconeError(f"{where}: truncated: section names lie past the end of the file")
    names = data[str_off:str_off + str_size]
    out = {}
    for sh_name, sh_type, _f, _a, offset, size, *_ in shdrs:
        end = names.find(b"\0", sh_name)
        name = names[sh_name:end if end >= 0 else None].decode("latin-1")
        if sh_type != SHT_NOBITS:
            out.setdefault(name, (offset, size))
    return out


def locate(data: bytes, where: str) -> Parts:
    """Find the image section, the note descriptor and the kept starter.

    The note must be in its one canonical form (note.h): name "SCONE" with
    namesz 6, type SCONE_NOTE_ENCLAVE, zero padding, filling its section.
    """
    secs = sections(data, where)
    if NOTE_SECTION not in secs or IMAGE_SECTION not in secs:
        raise SconeError(f"{where}: not a scone binary (no {NOTE_SECTION} / "
                         f"{IMAGE_SECTION} section); build it with scone-gcc")
    for name, (off, size) in secs.items():
        if name.startswith(".scone") and off + size > len(data):
            raise SconeError(f"{where}: truncated: section {name} ends at {off + size:#x}, "
                             f"the file is {len(data):#x} bytes; rebuild it")
    off, size = secs[NOTE_SECTION]
    if off + size > len(data) or size < 12:
        raise SconeError(f"{where}: truncated: {NOTE_SECTION} is cut off; rebuild it")
    namesz, descsz, ntype = struct.unpack_from("<III", data, off)
    name = abi.NOTE_NAME + b"\0"
    desc_off = off + 12 + (-(-len(name) // 4) * 4)
    if namesz != len(name) or data[off + 12:off + 12 + namesz] != name or \
            ntype != abi.NOTE_TYPE:
        raise SconeError(f"{where}: {NOTE_SECTION} does not hold a SCONE note "
                         f"(namesz {namesz}, type {ntype:#x}); rebuild it")
    # One canonical form (note.h): the note fills its section, padding is zero.
    desc_end = desc_off + descsz
    if desc_end + (-descsz % 4) != off + size or \
            any(data[off + 12 + namesz:desc_off]) or any(data[desc_end:off + size]):
        raise SconeError(f"{where}: {NOTE_SECTION} is malformed: the note does not fill "
                         f"its section exactly or its padding is not zero; rebuild it")
    return Parts(secs[IMAGE_SECTION], (desc_off, descsz), secs.get(STARTER_SECTION))
