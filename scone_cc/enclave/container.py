"""Find the scone parts inside a final binary by its section headers.

The starter finds the same parts the same way (section ``.scone.enclave``:
the image file; section ``.note.scone``: one ELF note, name "SCONE", type
SCONE_NOTE_ENCLAVE). The parts are non-loaded sections: the
starter reads them from its file by section header, never from memory.
``append`` adds them after everything the starter's program headers map,
leaving those headers and every loaded byte as the linker wrote them, so
strip and objcopy (which rebuild segments from the section headers) keep a
working binary. Stdlib only.
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
SHT_PROGBITS = 1
SHT_NOTE = 7
SHT_NOBITS = 8
SHN_LORESERVE = 0xFF00
SHF_ALLOC = 0x2
SHF_TLS = 0x400
PT_LOAD = 1
_PHDR = struct.Struct("<IIQQQQQQ")      # Elf64_Phdr, 56 bytes


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


def append(elf: bytes, where: str, added: list[tuple[str, int, int, bytes]]) -> bytes:
    """Return ``elf`` with non-loaded sections ``added`` (name, sh_type, align, data).

    The program headers and every byte they map are kept; the new sections,
    a new section name table and the section header table follow the old
    file's last mapped or named byte. No section is allocated, so no segment
    needs to cover them and tools that rewrite ELF files leave them alone.
    """
    sections(elf, where)    # the checks of a well-formed header table
    fields = list(_EHDR.unpack_from(elf))
    phoff, shoff, phentsize, phnum, shnum, shstrndx = (fields[5], fields[6], fields[9],
                                                        fields[10], fields[12], fields[13])
    if shnum >= SHN_LORESERVE or shstrndx >= SHN_LORESERVE:
        raise SconeError(f"{where}: more section headers than this writer handles")
    shdrs = [list(_SHDR.unpack_from(elf, shoff + i * _SHDR.size)) for i in range(shnum)]
    # Keep every byte a segment or an old section uses, but not the old
    # header table and name table (written afresh after the new sections).
    keep = phoff + phentsize * phnum
    for i in range(phnum):
        p_offset, p_filesz = struct.unpack_from("<QQ", elf, phoff + i * phentsize + 8)[0], \
            struct.unpack_from("<Q", elf, phoff + i * phentsize + 32)[0]
        keep = max(keep, p_offset + p_filesz)
    for i, sh in enumerate(shdrs):
        if i != shstrndx and sh[1] != SHT_NOBITS:
            keep = max(keep, sh[4] + sh[5])
    out = bytearray(elf[:keep])
    names = bytearray(elf[shdrs[shstrndx][4]:shdrs[shstrndx][4] + shdrs[shstrndx][5]])
    for name, sh_type, align, data in added:
        out += bytes(-len(out) % align)
        name_off = len(names)
        names += name.encode() + b"\0"
        shdrs.append([name_off, sh_type, 0, 0, len(out), len(data), 0, 0, align, 0])
        out += data
    shdrs[shstrndx][4], shdrs[shstrndx][5] = len(out), len(names)
    out += names
    out += bytes(-len(out) % 8)
    fields[6], fields[12] = len(out), len(shdrs)
    out[:_EHDR.size] = _EHDR.pack(*fields)
    for sh in shdrs:
        out += _SHDR.pack(*sh)
    return bytes(out)


def _headers(data: bytes):
    fields = _EHDR.unpack_from(data)
    entry, phoff, phentsize, phnum = fields[4], fields[5], fields[9], fields[10]
    if phentsize != _PHDR.size or phoff + phnum * _PHDR.size > len(data):
        return entry, None, []
    phdrs = [_PHDR.unpack_from(data, phoff + i * _PHDR.size) for i in range(phnum)]
    shoff, shnum = fields[6], fields[12]
    shdrs = [_SHDR.unpack_from(data, shoff + i * _SHDR.size) for i in range(shnum)]
    names = shdrs[fields[13]]
    table = data[names[4]:names[4] + names[5]]

    def name(off):
        end = table.find(b"\0", off)
        return table[off:end if end >= 0 else None].decode("latin-1")
    return entry, phdrs, [(name(sh[0]), *sh[1:]) for sh in shdrs]


def _loaded(data: bytes, phdrs, blank=None) -> list[tuple]:
    """Every PT_LOAD as the kernel maps it: flags, address, sizes and file bytes.

    The ELF header's section-table fields (e_shoff, e_shnum, e_shstrndx) are
    blanked: they change with the sections appended and nothing reads them
    from memory. So is ``blank`` (offset, size): the Build ID, which each
    binary gets of its own (enclave/buildid.py) and the starter never reads.
    """
    data = bytearray(data[:_EHDR.size]) + data[_EHDR.size:]
    data[0x28:0x30] = bytes(8)
    data[0x3C:0x40] = bytes(4)
    if blank:
        data[blank[0]:blank[0] + blank[1]] = bytes(blank[1])
    return [(flags, vaddr, filesz, memsz, bytes(data[offset:offset + filesz]))
            for ptype, flags, offset, vaddr, _p, filesz, memsz, _a in phdrs if ptype == PT_LOAD]


def starter_problems(data: bytes, where: str) -> list[str]:
    """What the starter needs of the file it runs from, as one line per problem.

    Every allocated section lies inside a PT_LOAD (tools that rewrite ELF
    files, such as strip, rebuild segments from sections and drop what lies
    outside, e.g. a .bss), and what the kernel maps (entry point, PT_LOADs and
    their bytes) is the kept starter (``.scone.starter``) unchanged.
    """
    sections(data, where)
    problems = []
    entry, phdrs, shdrs = _headers(data)
    if phdrs is None:
        return ["the program header table is malformed or lies outside the file; "
                "rebuild the binary with scone-gcc"]
    loads = [p for p in phdrs if p[0] == PT_LOAD]
    for name, sh_type, flags, addr, offset, size, *_ in shdrs:
        if not flags & SHF_ALLOC or size == 0 or (flags & SHF_TLS and sh_type == SHT_NOBITS):
            continue
        inside = [p for p in loads if p[3] <= addr and addr + size <= p[3] + p[6]]
        in_file = sh_type == SHT_NOBITS or any(
            addr + size <= p[3] + p[5] and offset - p[2] == addr - p[3] for p in inside)
        if not inside or not in_file:
            problems.append(f"allocated section {name} ({addr:#x}..{addr + size:#x}) lies "
                            "outside the segment that should map it, so the starter would run "
                            "without it (an ELF rewriting tool moved it); rebuild the binary "
                            "with scone-gcc")
    kept = sections(data, where).get(STARTER_SECTION)
    if kept is None:
        problems.append(f"no {STARTER_SECTION} section: the starter cannot be checked; "
                        "rebuild the binary with scone-gcc")
        return problems
    starter = data[kept[0]:kept[0] + kept[1]]
    try:
        sections(starter, f"{where}: {STARTER_SECTION}")
        s_entry, s_phdrs, _ = _headers(starter)
    except (SconeError, struct.error):
        return problems + [f"{STARTER_SECTION} is not the starter ELF; rebuild the binary "
                           "with scone-gcc"]
    from scone_cc.enclave import buildid

    if s_phdrs is None or s_entry != entry or _loaded(
            starter, s_phdrs, buildid.locate(starter, where)) != _loaded(
            data, phdrs, buildid.locate(data, where)):
        problems.append(f"the starter this binary runs (its entry point and loaded segments) "
                        f"differs from the one kept in {STARTER_SECTION}: it was changed after "
                        "the binary was built; rebuild it with scone-gcc")
    return problems
