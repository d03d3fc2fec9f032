"""Source locations from DWARF (any version gcc emits, DWARF 5 included).

Read lazily: a clean program never parses a line table, and only the
compilation units that hold a finding are decoded. In a relocatable object
the code addresses are section offsets; to tell sections apart, relocations
against code are applied with S = (section index << 32) + symbol value, so
an address here is ``(section index << 32) | offset`` (``key()``).
"""

import bisect
import io
import os
import re
import struct

from .elf import ET_REL, SHT_NOBITS

R_X86_64_64, R_X86_64_32, R_X86_64_32S = 1, 10, 11


def key(elf, shndx: int, offset: int) -> int:
    """The address DWARF uses here for ``offset`` in section ``shndx``."""
    return (shndx << 32) | offset if elf.type == ET_REL else offset


def _patched(elf) -> bytes:
    """The file's bytes with .rela.debug_* applied (section-tagged code addresses)."""
    data = bytearray(elf.data)
    for rel in elf.rela_sections():
        target = elf.sections[rel.info] if rel.info < len(elf.sections) else None
        if target is None or not target.name.startswith(".debug") or target.type == SHT_NOBITS:
            continue
        syms = elf.symbols(elf.sections[rel.link])
        for off, typ, symi, addend in elf.relas(rel):
            if symi >= len(syms) or off + 4 > target.size:
                continue
            s = syms[symi]
            base = s.value
            if 0 < s.shndx < len(elf.sections) and elf.sections[s.shndx].exec:
                base += s.shndx << 32
            val = base + addend
            at = target.offset + off
            if typ == R_X86_64_64 and off + 8 <= target.size:
                struct.pack_into("<Q", data, at, val & 0xFFFFFFFFFFFFFFFF)
            elif typ in (R_X86_64_32, R_X86_64_32S):
                struct.pack_into("<I", data, at, val & 0xFFFFFFFF)
    return bytes(data)


class Dwarf:
    """Lazy DWARF of one ELF: which code is the application's, and file:line:col."""

    def __init__(self, elf):
        self.elf = elf
        self.present = elf.section(".debug_info") is not None and elf.section(".debug_line") is not None
        self._info = None
        self._ranges = None
        self._lines = {}
        self._vars = None
        self._deep = False

    def info(self):
        if self._info is None:
            from elftools.elf.elffile import ELFFile

            data = _patched(self.elf) if self.elf.type == ET_REL else self.elf.data
            self._info = ELFFile(io.BytesIO(data)).get_dwarf_info(relocate_dwarf_sections=False)
        return self._info

    def ranges(self) -> list:
        """Sorted (lo, hi, cu_offset) of every unit with code (.debug_aranges, else unit DIEs).

        Damaged DWARF counts as none (``present`` becomes False).
        """
        if self._ranges is None:
            try:
                self._ranges = self._read_ranges()
            except Exception:     # noqa: BLE001 - damaged DWARF: check without it
                self.present = False
                self._ranges = []
            self._starts = [r[0] for r in self._ranges]
        return self._ranges

    def _read_ranges(self) -> list:
        out = []
        if self.present:
            di = self.info()
            ar = di.get_aranges() if self.elf.section(".debug_aranges") is not None else None
            if ar is not None:
                out = [(e.begin_addr, e.begin_addr + e.length, e.info_offset) for e in ar.entries if e.length]
            else:
                for cu in di.iter_CUs():
                    top = cu.get_top_DIE()
                    lo = top.attributes.get("DW_AT_low_pc")
                    hi = top.attributes.get("DW_AT_high_pc")
                    if lo is not None and hi is not None:
                        h = hi.value if hi.form == "DW_FORM_addr" else lo.value + hi.value
                        out.append((lo.value, h, cu.cu_offset))
                    elif "DW_AT_ranges" in top.attributes:
                        for r in self._cu_ranges(cu, top):
                            out.append((r[0], r[1], cu.cu_offset))
        return sorted(out)

    def _cu_ranges(self, cu, top):
        try:
            rl = self.info().range_lists()
            base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            out = []
            for r in rl.get_range_list_at_offset(top.attributes["DW_AT_ranges"].value, cu=cu):
                if hasattr(r, "begin_offset"):
                    b = getattr(r, "base_address", base) if not getattr(r, "is_absolute", False) else 0
                    out.append((r.begin_offset + b, r.end_offset + b))
            return out
        except Exception:        # odd range lists only cost the app/libc split, never the check
            return []

    def unit_at(self, addr: int):
        rs = self.ranges()
        i = bisect.bisect_right(self._starts, addr) - 1
        while i >= 0 and rs[i][0] <= addr:
            if addr < rs[i][1]:
                return rs[i][2]
            i -= 1
        return None

    def covers(self, addr: int) -> bool:
        """True if ``addr`` lies in code described by a compilation unit (the app's own code)."""
        return self.present and self.unit_at(addr) is not None

    def _rows(self, cu_off):
        if cu_off not in self._lines:
            di = self.info()
            cu = di.get_CU_at(cu_off)
            lp = di.line_program_for_CU(cu)
            rows = []
            if lp is not None:
                names = {}
                for lo, hi, seq in _decode_rows(di, lp):
                    out = []
                    for a, f, ln, col in seq:
                        if f not in names:
                            names[f] = _file_name(lp, f)
                        out.append((a, names[f], ln, col))
                    rows.append((lo, hi, out))
            rows.sort(key=lambda r: r[0])
            self._lines[cu_off] = rows
        return self._lines[cu_off]

    def line_at(self, addr: int):
        """(file, line, column) of the code at ``addr``, or None."""
        if not self.present:
            return None
        cu = self.unit_at(addr)
        cands = [cu] if cu is not None else [c.cu_offset for c in self.info().iter_CUs()]
        for c in cands:
            for lo, hi, seq in self._rows(c):
                if lo <= addr < hi:
                    best = None
                    for a, f, ln, col in seq:
                        if a > addr:
                            break
                        if ln:
                            best = (f, ln, col)
                    return best
        return None

    def variable_line(self, name: str):
        """(file, line, column) where variable ``name`` is declared, or None."""
        found = self._variable(name)
        return found[:3] if found else None

    def _variable(self, name):
        if not self.present:
            return None
        base = name.split(".", 1)[0] if "." in name else name
        # file-scope variables (DW_AT_sibling skips function bodies); a static
        # local (gcc names its symbol "name.N") needs every DIE
        for deep in ((False, True) if "." in name else (False,)):
            if self._vars is None or (deep and not self._deep):
                try:
                    self._read_vars(deep)
                except Exception:     # noqa: BLE001 - damaged DWARF costs the line number only
                    self._vars, self._deep = {}, True
            found = self._vars.get(name) or self._vars.get(base)
            if found:
                return found
        return None

    def element_line(self, name: str, element: str):
        """(file, line, column) of ``element`` in the initializer of variable ``name``.

        DWARF gives only the declaration's line; a table written over several
        lines names the function on a later one, so the source is searched
        from the declaration on (when it can be read), else the declaration.
        """
        found = self._variable(name)
        if not found:
            return None
        shown, line, col, path = found
        word = re.compile(r"\b" + re.escape(element) + r"\b")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read().splitlines()
        except OSError:
            return shown, line, col
        for n in range(line - 1, min(len(text), line + 200)):
            code = text[n].split("//", 1)[0]
            code = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), code)
            m = word.search(code)
            if m:
                return shown, n + 1, m.start() + 1
            if n > line - 1 and code.rstrip().endswith(";"):
                break
        return shown, line, col

    def _read_vars(self, deep: bool):
        self._vars = {} if self._vars is None else self._vars
        self._deep = deep
        di = self.info()
        for cu in di.iter_CUs():
            lp = None
            top = cu.get_top_DIE()
            cd = top.attributes.get("DW_AT_comp_dir")
            comp_dir = _text(cd.value) if cd is not None else None
            for die in (cu.iter_DIEs() if deep else top.iter_children()):
                if die.tag != "DW_TAG_variable":
                    continue
                a = die.attributes
                if "DW_AT_name" not in a or "DW_AT_decl_line" not in a:
                    continue
                if lp is None:
                    lp = di.line_program_for_CU(cu)
                fi = a["DW_AT_decl_file"].value if "DW_AT_decl_file" in a else 0
                f = _file_name(lp, fi) if lp is not None else "?"
                path = f if os.path.isabs(f) or not comp_dir else os.path.join(comp_dir, f)
                n = a["DW_AT_name"].value
                n = n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)
                col = a["DW_AT_decl_column"].value if "DW_AT_decl_column" in a else 0
                self._vars.setdefault(n, (f, a["DW_AT_decl_line"].value, col, path))


def _text(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _file_name(lp, i: int) -> str:
    """File ``i`` of a line program as gcc would print it (DWARF 5 counts from 0, older from 1)."""
    v5 = lp["version"] >= 5
    files, dirs = lp["file_entry"], lp["include_directory"]
    j = i if v5 else i - 1
    if not 0 <= j < len(files):
        return "?"
    name = _text(files[j].name)
    d = files[j].dir_index
    k = d if v5 else d - 1
    if not os.path.isabs(name) and d and 0 <= k < len(dirs):
        name = os.path.join(_text(dirs[k]), name)
    return name


def _uleb(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def _sleb(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            if c & 0x40:
                v -= 1 << shift
            return v, i


def _decode_rows(di, lp):
    """Sequences (lo, hi, [(address, file index, line, column)]) of one line program.

    The DWARF line-number state machine (DWARF 5 section 6.2) for one
    instruction per op; pyelftools reads the header, this reads the body,
    which is where large units spend their time.
    """
    sec = di.debug_line_sec
    sec.stream.seek(0)
    b = sec.stream.read(sec.size)
    h = lp.header
    min_len = h["minimum_instruction_length"]
    line_base, line_range, op_base = h["line_base"], h["line_range"], h["opcode_base"]
    std_len = h["standard_opcode_lengths"]
    const_add = ((255 - op_base) // line_range) * min_len
    first_file = 1
    i, end = lp.program_start_offset, lp.program_end_offset
    addr, f, line, col = 0, first_file, 1, 0
    seq, out = [], []
    while i < end:
        op = b[i]
        i += 1
        if op >= op_base:
            adj = op - op_base
            addr += (adj // line_range) * min_len
            line += line_base + adj % line_range
            seq.append((addr, f, line, col))
        elif op == 0:
            n, i = _uleb(b, i)
            sub = b[i] if n else 0
            body = i + 1
            if sub == 1:                                   # DW_LNE_end_sequence
                if seq:
                    out.append((seq[0][0], addr, seq))
                seq = []
                addr, f, line, col = 0, first_file, 1, 0
            elif sub == 2:                                 # DW_LNE_set_address
                addr = int.from_bytes(b[body:i + n], "little")
            i += n
        elif op == 1:                                      # DW_LNS_copy
            seq.append((addr, f, line, col))
        elif op == 2:
            v, i = _uleb(b, i)
            addr += v * min_len
        elif op == 3:
            v, i = _sleb(b, i)
            line += v
        elif op == 4:
            f, i = _uleb(b, i)
        elif op == 5:
            col, i = _uleb(b, i)
        elif op == 8:
            addr += const_add
        elif op == 9:
            addr += b[i] | b[i + 1] << 8
            i += 2
        else:                                              # flags and unknown opcodes: skip operands
            for _ in range(std_len[op - 1] if op - 1 < len(std_len) else 0):
                _v, i = _uleb(b, i)
    return out
