"""A small, fast ELF64 reader for the checker: sections, symbols, relocations.

The bytes have passed ``inputs.validate_elf``; this only reads what the
checker needs, with struct (a large static binary has tens of thousands of
symbols and relocations, so no per-field objects).
"""

import struct
from dataclasses import dataclass

SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_DYNSYM = 2, 4, 8, 11
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
STT_OBJECT, STT_FUNC, STT_SECTION, STT_GNU_IFUNC = 1, 2, 3, 10
SHN_UNDEF = 0
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3


@dataclass
class Section:
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int = 0

    @property
    def exec(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)


@dataclass
class Symbol:
    name: str
    value: int
    size: int
    type: int
    bind: int
    shndx: int


class Elf:
    """Sections, symbols and relocations of one x86-64 ELF64 held in memory."""

    def __init__(self, name: str, data: bytes):
        self.name = name
        self.data = data
        self.type, = struct.unpack_from("<H", data, 16)
        shoff, = struct.unpack_from("<Q", data, 40)
        shnum, shstrndx = struct.unpack_from("<HH", data, 60)
        raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64) for i in range(shnum)]
        stroff = raw[shstrndx][4]
        self.sections = []
        for i, (nm, typ, flags, addr, off, size, link, info, _al, es) in enumerate(raw):
            self.sections.append(Section(i, self._cstr(stroff + nm), typ, flags, addr, off, size, link, info, es))
        self._syms = {}

    def _cstr(self, off: int) -> str:
        end = self.data.find(b"\0", off)
        return self.data[off:end].decode("utf-8", "replace")

    def section(self, name: str):
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def bytes_of(self, sec: Section) -> bytes:
        if sec.type == SHT_NOBITS:
            return b""
        return self.data[sec.offset:sec.offset + sec.size]

    def symbols(self, sec: Section) -> list:
        """Symbols of a SYMTAB/DYNSYM section, index-aligned with relocation symbol numbers."""
        if sec.index not in self._syms:
            strtab = self.sections[sec.link].offset if sec.link < len(self.sections) else 0
            out = []
            blob = self.data[sec.offset:sec.offset + sec.size - sec.size % 24]
            cache = {}
            for nm, info, _other, shndx, value, size in struct.iter_unpack("<IBBHQQ", blob):
                name = cache.get(nm)
                if name is None:
                    name = cache[nm] = self._cstr(strtab + nm) if nm else ""
                out.append(Symbol(name, value, size, info & 0xF, info >> 4, shndx))
            self._syms[sec.index] = out
        return self._syms[sec.index]

    def symtab(self):
        for s in self.sections:
            if s.type == SHT_SYMTAB:
                return s
        return None

    def relas(self, sec: Section):
        """(r_offset, type, symbol index, addend) of a RELA section."""
        blob = self.data[sec.offset:sec.offset + sec.size - sec.size % 24]
        for off, info, addend in struct.iter_unpack("<QQq", blob):
            yield off, info & 0xFFFFFFFF, info >> 32, addend

    def rela_sections(self):
        return [s for s in self.sections if s.type == SHT_RELA]

    def section_at(self, addr: int):
        """The allocated section holding address ``addr`` in a linked image."""
        for s in self.sections:
            if s.flags & SHF_ALLOC and s.addr <= addr < s.addr + s.size:
                return s
        return None
