"""Check one relocatable object (DESIGN.md §7).

Everything in an object is the application's own code, so every site counts:
relocations against undefined unsupported functions (in code and in data),
calls to clone/syscall with constant arguments, and raw ``syscall``
instructions whose number is a constant in the same basic block.
"""

import bisect
import re

from . import policy
from .disasm import Func
from .dwarf import Dwarf
from .elf import SHF_ALLOC, SHN_UNDEF, STT_FUNC, STT_GNU_IFUNC, STT_OBJECT
from .report import make

_SYSCALL = re.compile(rb"\x0f\x05")


class _Code:
    """Functions of one code section and their (cached) disassembly."""

    def __init__(self, elf, sec, syms):
        self.elf, self.sec = elf, sec
        self.code = elf.bytes_of(sec)
        pts = {}
        for s in syms:
            if s.shndx == sec.index and s.name and not s.name.startswith(".L"):
                if s.type in (STT_FUNC, STT_GNU_IFUNC) or (s.type == 0 and s.value not in pts):
                    if s.value not in pts or s.type in (STT_FUNC, STT_GNU_IFUNC):
                        pts[s.value] = (s.name, s.size if s.type in (STT_FUNC, STT_GNU_IFUNC) else 0)
        self.starts = sorted(pts)
        self.info = pts
        self._dis = {}

    def function_at(self, off):
        """(name, start, end) of the function holding ``off``; the whole section if none."""
        i = bisect.bisect_right(self.starts, off) - 1
        if i >= 0:
            start = self.starts[i]
            name, size = self.info[start]
            nxt = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.code)
            end = start + size if size else nxt
            if off < max(end, start + 1) or not size:
                return name, start, min(max(end, nxt if not size else end), len(self.code))
        return None, 0, len(self.code)

    def disasm(self, start, end):
        if start not in self._dis:
            self._dis[start] = Func(self.code[start:end], start)
        return self._dis[start]


def _data_holder(syms, shndx, off):
    best = None
    for s in syms:
        if s.shndx == shndx and s.type == STT_OBJECT and s.value <= off < s.value + max(s.size, 1):
            best = s.name
    return best


def check_object(elf, allow) -> list:
    """Findings of one ET_REL object (see module doc)."""
    st = elf.symtab()
    syms = elf.symbols(st) if st is not None else []
    dw = Dwarf(elf)
    bad = policy.bad_functions()
    clone = policy.clone_entry()
    codes = {s.index: _Code(elf, s, syms) for s in elf.sections if s.exec and s.flags & SHF_ALLOC}
    out = []

    for rel in elf.rela_sections():
        if rel.info >= len(elf.sections) or rel.link >= len(elf.sections):
            continue
        target = elf.sections[rel.info]
        if not target.flags & SHF_ALLOC:
            continue
        rsyms = elf.symbols(elf.sections[rel.link])
        for off, _typ, symi, _add in elf.relas(rel):
            if symi >= len(rsyms):
                continue
            s = rsyms[symi]
            if s.shndx != SHN_UNDEF or not s.name:
                continue
            name = s.name
            interesting = name in bad or name in policy.CLONE_WRAPPERS or name in policy.SYSCALL_FUNCTIONS \
                or name == policy.HOOK
            if not interesting:
                continue
            if target.index not in codes:                  # a pointer stored in data
                if name in bad:
                    holder = _data_holder(syms, target.index, off) or f"{target.name}+{off:#x}"
                    line = dw.element_line(holder, name) if dw.present else None
                    out.append(make(elf, dw, allow, shndx=target.index, off=off, function=None,
                                    entry=bad[name], kind="pointer", callee=name, holder=holder,
                                    line=line))
                continue
            code = codes[target.index]
            fname, start, end = code.function_at(off)
            fn = code.disasm(start, end)
            insn = fn.covering(off)
            at = insn.address if insn is not None else off
            is_call = insn is not None and insn.mnemonic.split()[0] in ("call", "jmp")
            if name in bad:
                out.append(make(elf, dw, allow, shndx=target.index, off=at, function=fname,
                                entry=bad[name], kind="call" if is_call else "reference", callee=name))
            elif not is_call:
                continue
            elif name in policy.CLONE_WRAPPERS:
                flags = fn.value_before(at, "rdx")
                if flags is None or flags & clone.thread_flags != clone.thread_flags:
                    out.append(make(elf, dw, allow, shndx=target.index, off=at, function=fname,
                                    entry=clone, kind="clone", callee=name, flags=flags))
            else:
                nr = fn.value_before(at, "rdi" if name in policy.SYSCALL_FUNCTIONS else "rax")
                out.extend(_numbered(elf, dw, allow, fn, at, nr, target.index, fname, name))

    for idx, code in codes.items():
        for m in _SYSCALL.finditer(code.code):
            pos = m.start()
            fname, start, end = code.function_at(pos)
            fn = code.disasm(start, end)
            insn = fn.at(pos)
            if insn is None or insn.mnemonic != "syscall":
                continue
            out.extend(_numbered(elf, dw, allow, fn, pos, fn.value_before(pos, "rax"), idx, fname, None))
    out.sort(key=lambda f: (f.section, f.offset))
    return out


def _numbered(elf, dw, allow, fn, at, nr, shndx, fname, callee):
    """Findings for a call whose number ``nr`` is known at ``at`` (clone: also its flags)."""
    if nr is None:
        return []
    kind = "syscall" if callee is None else ("hook" if callee == policy.HOOK else "syscall-function")
    e = policy.unsupported_nr(nr, quiet=True)
    if e is not None:
        return [make(elf, dw, allow, shndx=shndx, off=at, function=fname, entry=e, kind=kind, callee=callee)]
    clone = policy.clone_entry()
    if nr == clone.nr:
        flags = fn.value_before(at, "rsi" if kind == "syscall-function" else "rdi")
        if flags is not None and flags & clone.thread_flags != clone.thread_flags:
            return [make(elf, dw, allow, shndx=shndx, off=at, function=fname, entry=clone, kind="clone",
                         callee=callee, flags=flags)]
    return []
