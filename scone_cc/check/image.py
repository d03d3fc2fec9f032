"""Check one linked image: an executable, or the enclave image of a scone binary (DESIGN.md §7).

The question is which of the application's own sites reach a call enclaves
do not serve. Steps, chosen so that a large static binary costs little:

1. nodes: functions (.symtab), data objects, anonymous pointer cells, PLT
   imports;
2. edges by a byte pre-scan, not by disassembly: ``call``/``jmp``/``jcc``
   rel32, RIP-relative ``lea``/``mov``/``call *``/``jmp *``, ``mov $imm32``
   in non-PIE code, and pointers stored in data (raw words and RELATIVE/64
   relocations);
3. seeds: functions named in the table's ``libc:`` lists, and functions with
   a ``syscall`` instruction (or a call to the scone hook, ``syscall()`` or
   ``clone()``) whose number/flags are constants in the basic block -- only
   these functions are disassembled;
4. a backward walk from the seeds through library code; an edge from the
   application's code (DWARF says which code is the application's) into a
   reached library function is a finding, reported at that site with the
   chain; every edge a finding relies on is confirmed by disassembly.
"""

import bisect
import re
import struct
from collections import deque

from . import policy
from .disasm import Func, references
from .dwarf import Dwarf
from .elf import ET_EXEC, SHF_ALLOC, SHT_DYNSYM, SHT_NOBITS, STT_FUNC, STT_GNU_IFUNC, STT_OBJECT
from .report import make

_CALLS = re.compile(rb"[\xe8\xe9]")
_JCC = re.compile(rb"\x0f[\x80-\x8f]")
_RIP = re.compile(rb"[\x48\x4c][\x8d\x8b][\x05\x0d\x15\x1d\x25\x2d\x35\x3d]")
_INDIRECT = re.compile(rb"\xff[\x15\x25]")
_IMM32 = re.compile(rb"[\xb8-\xbf\x68]|\x48\xc7[\xc0-\xc7]")
_SYSCALL = re.compile(rb"\x0f\x05")
_SKIP_DATA = (".eh_frame", ".eh_frame_hdr", ".gcc_except_table", ".interp", ".dynstr", ".dynsym",
              ".gnu.hash", ".hash", ".gnu.version", ".gnu.version_r", ".rela.dyn", ".rela.plt", ".dynamic",
              ".comment", ".note", ".scone")
R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT, R_X86_64_RELATIVE = 1, 6, 7, 8


class _Graph:
    def __init__(self, elf):
        self.elf = elf
        st = elf.symtab()
        syms = elf.symbols(st) if st is not None else []
        names, sizes = {}, {}
        objs = {}
        for s in syms:
            if not s.name or s.shndx == 0 or s.shndx >= 0xFF00:
                continue
            if s.type in (STT_FUNC, STT_GNU_IFUNC) and s.shndx < len(elf.sections) and elf.sections[s.shndx].exec:
                names.setdefault(s.value, []).append(s.name)
                sizes[s.value] = max(sizes.get(s.value, 0), s.size)
            elif s.type == STT_OBJECT and s.size:
                objs.setdefault(s.value, (s.name, s.size))
        notype = [s for s in syms if s.type == 0 and s.name and s.shndx and s.shndx < len(elf.sections)
                  and elf.sections[s.shndx].exec and not s.name.startswith((".L", "$"))]
        if notype and names:
            # labels of top-level asm (no .type) start functions, unless inside a typed one
            starts = sorted(names)
            for s in notype:
                i = bisect.bisect_right(starts, s.value) - 1
                if s.value in names or (i >= 0 and s.value < starts[i] + sizes[starts[i]]):
                    continue
                names.setdefault(s.value, []).append(s.name)
                sizes.setdefault(s.value, 0)
        if not names:
            # stripped: each code section stands for one function of the application
            for sec in elf.sections:
                if sec.exec and sec.flags & SHF_ALLOC and sec.type != SHT_NOBITS and sec.size \
                        and not sec.name.startswith(".plt"):
                    names[sec.addr] = [f"<stripped {sec.name}>"]
                    sizes[sec.addr] = sec.size
        self.fnames = names
        self.fstarts = sorted(names)
        self.fsize = sizes
        self.objs = objs
        self.ostarts = sorted(objs)
        self.imports = {}          # node address (PLT stub or GOT cell) -> imported name
        self.cells = {}            # anonymous pointer cell -> target
        self.rev = {}              # target node -> [(src node, site, kind)]
        self.bad_edges = set()
        self._dis = {}

    # ---- naming and lookup ----
    def fname(self, addr):
        if addr in self.imports:
            return self.imports[addr]
        ns = self.fnames.get(addr)
        if ns:
            bad = policy.bad_functions()
            pick = [n for n in ns if n in bad] or ns
            plain = [n for n in pick if not n.startswith("_")]
            return min(plain or pick, key=lambda n: (len(n), n))
        if addr in self.objs:
            return self.objs[addr][0]
        return None

    def func_at(self, addr):
        i = bisect.bisect_right(self.fstarts, addr) - 1
        if i < 0:
            return None
        start = self.fstarts[i]
        end = start + self.fsize[start] if self.fsize[start] else (
            self.fstarts[i + 1] if i + 1 < len(self.fstarts) else start + 1)
        return start if addr < end else None

    def func_end(self, start):
        if self.fsize.get(start):
            return start + self.fsize[start]
        i = bisect.bisect_right(self.fstarts, start)
        return self.fstarts[i] if i < len(self.fstarts) else start + 4096

    def obj_at(self, addr):
        i = bisect.bisect_right(self.ostarts, addr) - 1
        if i >= 0:
            start = self.ostarts[i]
            if addr < start + self.objs[start][1]:
                return start
        return None

    def disasm(self, start):
        if start not in self._dis:
            end = self.func_end(start)
            sec = self.elf.section_at(start)
            if sec is None or sec.type == SHT_NOBITS:
                self._dis[start] = Func(b"", start)
            else:
                off = sec.offset + start - sec.addr
                end = min(end, sec.addr + sec.size)
                self._dis[start] = Func(self.elf.data[off:off + end - start], start)
        return self._dis[start]

    def func_for(self, start, site):
        """Instructions of the function at ``start`` around ``site``: the whole
        function, or for a huge one (a stripped section) a window ending past
        ``site`` that decodes an instruction exactly at ``site``."""
        if self.func_end(start) - start <= 65536:
            return self.disasm(start)
        sec = self.elf.section_at(site)
        if sec is None:
            return Func(b"", site)
        for back in range(min(96, site - sec.addr), -1, -1):
            lo = site - back
            off = sec.offset + lo - sec.addr
            fn = Func(self.elf.data[off:off + back + 16], lo)
            if fn.at(site) is not None:
                return fn
        return Func(b"", site)

    def add(self, target, src, site, kind):
        self.rev.setdefault(target, []).append((src, site, kind))


def _imports(elf, g):
    """PLT stubs and GOT cells of a dynamic executable, by imported name."""
    got = {}
    for rel in elf.rela_sections():
        if rel.link >= len(elf.sections) or elf.sections[rel.link].type != SHT_DYNSYM:
            continue
        dsyms = elf.symbols(elf.sections[rel.link])
        for off, typ, symi, _add in elf.relas(rel):
            if typ in (R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT) and 0 < symi < len(dsyms):
                s = dsyms[symi]
                if s.shndx == 0 and s.name:
                    got[off] = s.name
    for cell, name in got.items():
        g.imports[cell] = name
    for sec in elf.sections:
        if not sec.exec or not sec.name.startswith(".plt"):
            continue
        code = elf.bytes_of(sec)
        for m in re.finditer(rb"\xff\x25", code):
            pos = m.start()
            if pos + 6 > len(code):
                continue
            slot = sec.addr + pos + 6 + struct.unpack_from("<i", code, pos + 2)[0]
            if slot in got:
                size = sec.entsize if sec.entsize >= 8 else 16
                stub = sec.addr + pos - (pos % size)
                g.imports[stub] = got[slot]


def _scan_code(elf, g, targets):
    non_pie = elf.type == ET_EXEC
    lo_obj = g.ostarts[0] if g.ostarts else None
    for sec in elf.sections:
        if not (sec.exec and sec.flags & SHF_ALLOC) or sec.type == SHT_NOBITS:
            continue
        code = elf.bytes_of(sec)
        base = sec.addr
        n = len(code)
        unpack = struct.unpack_from
        func_at = g.func_at

        def hit(t, pos, kind):
            if t in targets:
                src = func_at(base + pos)
                if src is not None and src != t:
                    g.add(t, src, base + pos, kind)
            elif lo_obj is not None and kind == "ref":
                o = g.obj_at(t)
                if o is not None:
                    src = func_at(base + pos)
                    if src is not None:
                        g.add(o, src, base + pos, kind)

        for m in _CALLS.finditer(code):
            pos = m.start()
            if pos + 5 <= n:
                t = base + pos + 5 + unpack("<i", code, pos + 1)[0]
                if t in targets:
                    hit(t, pos, "call")
        for m in _JCC.finditer(code):
            pos = m.start()
            if pos + 6 <= n:
                t = base + pos + 6 + unpack("<i", code, pos + 2)[0]
                if t in targets:
                    hit(t, pos, "call")
        for m in _RIP.finditer(code):
            pos = m.start()
            if pos + 7 <= n:
                hit(base + pos + 7 + unpack("<i", code, pos + 3)[0], pos, "ref")
        for m in _INDIRECT.finditer(code):
            pos = m.start()
            if pos + 6 <= n:
                t = base + pos + 6 + unpack("<i", code, pos + 2)[0]
                if t in targets:
                    hit(t, pos, "call")
        if non_pie:
            for m in _IMM32.finditer(code):
                pos = m.start()
                at = m.end()
                if at + 4 <= n:
                    hit(unpack("<I", code, at)[0], pos, "ref")


def _scan_data(elf, g, fstarts):
    """Pointers to functions stored in data: raw words, and RELATIVE / 64 relocations."""
    def owner(addr):
        o = g.obj_at(addr)
        if o is not None:
            return o
        g.cells[addr] = True
        return addr

    for sec in elf.sections:
        if not sec.flags & SHF_ALLOC or sec.exec or sec.type == SHT_NOBITS or sec.type not in (1, 14, 15, 16):
            continue
        if sec.name.startswith(_SKIP_DATA):
            continue
        blob = elf.bytes_of(sec)
        skew = (-sec.addr) % 8
        words = memoryview(blob[skew:len(blob) - (len(blob) - skew) % 8]).cast("Q")
        hits = fstarts.intersection(words)
        if not hits:
            continue
        for i, w in enumerate(words):
            if w in hits:
                at = sec.addr + skew + 8 * i
                g.add(w, owner(at), at, "data")
    for rel in elf.rela_sections():
        if rel.info != 0 and rel.info < len(elf.sections) and not elf.sections[rel.info].flags & SHF_ALLOC:
            continue
        dsyms = elf.symbols(elf.sections[rel.link]) if 0 < rel.link < len(elf.sections) else []
        for off, typ, symi, addend in elf.relas(rel):
            if typ == R_X86_64_RELATIVE:
                t = addend
            elif typ == R_X86_64_64 and 0 < symi < len(dsyms) and dsyms[symi].shndx:
                t = dsyms[symi].value + addend
            elif typ == R_X86_64_64 and 0 < symi < len(dsyms) and dsyms[symi].name:
                # a pointer to an imported function: one node per name, below every address
                name = dsyms[symi].name
                key = -1 - symi
                g.imports[key] = name
                g.add(key, owner(off), off, "data")
                continue
            else:
                continue
            if t in fstarts:
                g.add(t, owner(off), off, "data")


def _seeds(elf, g, allow_app):
    """(node -> (entry, description)) of functions that issue or are unsupported calls,
    plus raw findings in the application's own code."""
    bad = policy.bad_functions()
    seeds = {}
    raw = []                # (func start, site, kind, callee, entry, flags)
    for addr, ns in g.fnames.items():
        for n in ns:
            if n in bad and not allow_app(addr):
                seeds[addr] = bad[n]
                break
    for addr, name in g.imports.items():
        if name in bad:
            seeds[addr] = bad[name]
    clone = policy.clone_entry()

    def numbered(start, site, nr, callee, fn):
        kind = "syscall" if callee is None else ("hook" if callee == policy.HOOK else "syscall-function")
        e = policy.unsupported_nr(nr, quiet=True) if nr is not None else None
        if e is not None:
            raw.append((start, site, kind, callee, e, None))
        elif nr == clone.nr:
            flags = fn.value_before(site, "rsi" if kind == "syscall-function" else "rdi")
            if flags is not None and flags & clone.thread_flags != clone.thread_flags:
                raw.append((start, site, "clone", callee, clone, flags))

    for sec in elf.sections:
        if not (sec.exec and sec.flags & SHF_ALLOC) or sec.type == SHT_NOBITS:
            continue
        code = elf.bytes_of(sec)
        for m in _SYSCALL.finditer(code):
            site = sec.addr + m.start()
            start = g.func_at(site)
            if start is None:
                continue
            fn = g.func_for(start, site)
            insn = fn.at(site)
            if insn is None or insn.mnemonic != "syscall":
                continue
            numbered(start, site, fn.value_before(site, "rax"), None, fn)
    special = {}
    for addr, ns in g.fnames.items():
        for n in ns:
            if n == policy.HOOK or n in policy.SYSCALL_FUNCTIONS or n in policy.CLONE_WRAPPERS:
                special[addr] = n
    for addr, name in g.imports.items():
        if name in policy.SYSCALL_FUNCTIONS or name in policy.CLONE_WRAPPERS:
            special[addr] = name
    for target, name in special.items():
        for src, site, kind in g.rev.get(target, ()):
            if kind != "call" or src in g.cells or src in g.objs:
                continue
            fn = g.func_for(src, site)
            insn = fn.at(site)
            if insn is None or not insn.mnemonic.startswith(("call", "jmp")):
                continue
            if name in policy.CLONE_WRAPPERS:
                flags = fn.value_before(site, "rdx")
                if flags is None and allow_app(src):
                    raw.append((src, site, "clone", name, clone, None))
                elif flags is not None and flags & clone.thread_flags != clone.thread_flags:
                    raw.append((src, site, "clone", name, clone, flags))
            else:
                reg = "rdi" if name in policy.SYSCALL_FUNCTIONS else "rax"
                numbered(src, site, fn.value_before(site, reg), name, fn)
    for start, site, kind, callee, e, flags in raw:
        if not allow_app(start) and not (kind == "clone" and flags is None) and not e.quiet:
            seeds.setdefault(start, e)
    return seeds, raw


def _verify(g, src, site, target):
    """True if the instruction at ``site`` in function ``src`` really refers to ``target``."""
    if src in g.cells or src in g.objs:
        return True
    insn = g.func_for(src, site).at(site)
    if insn is None:
        return False
    refs = references(insn)
    if target in refs:
        return True
    o = g.obj_at(refs[0]) if refs else None
    return o == target


def check_image(elf, allow) -> list:
    """Findings of one linked image (module doc)."""
    g = _Graph(elf)
    dw = Dwarf(elf)
    _imports(elf, g)
    fstarts = set(g.fstarts)
    targets = fstarts | set(g.imports) | set(g.objs)
    _scan_data(elf, g, fstarts)
    targets |= set(g.cells)
    _scan_code(elf, g, targets)

    main = next((a for a, ns in g.fnames.items() if "main" in ns), None)
    # DWARF tells the application's code only if it describes main: a libc or
    # crt object built with -g must not make the libc side look like the app.
    by_dwarf = dw.present and (main is None or dw.covers(main))
    if by_dwarf:
        def is_app(addr):
            return addr in g.fnames and dw.covers(addr)
    else:
        bad = policy.bad_functions()
        libc_side = set(bad) | set(policy.CLONE_WRAPPERS) | set(policy.SYSCALL_FUNCTIONS) | {policy.HOOK}
        named = {a for a, ns in g.fnames.items()
                 if not any(n in libc_side for n in ns) and any(not n.startswith("_") for n in ns)}
        if main is not None:
            # Without DWARF: plain-named functions that main reaches without
            # passing through an unsupported function (libc's own helpers of
            # system/popen are then not taken for the application's code).
            fwd = {}
            for t, lst in g.rev.items():
                for src, _site, _kind in lst:
                    fwd.setdefault(src, []).append(t)
            seen, todo = {main}, [main]
            while todo:
                for t in fwd.get(todo.pop(), ()):
                    if t not in seen and t in g.fnames and not any(n in bad for n in g.fnames[t]):
                        seen.add(t)
                        todo.append(t)
            named &= seen

        def is_app(addr):
            return addr in named

    app_cache = {}

    def app(addr):
        if addr not in app_cache:
            app_cache[addr] = is_app(addr)
        return app_cache[addr]

    def app_data(addr):
        if not dw.present or addr not in g.objs:
            return False
        return dw.variable_line(g.objs[addr][0]) is not None

    seeds, raw = _seeds(elf, g, app)

    for _round in range(8):
        reach = {n: None for n in seeds}
        q = deque(seeds)
        hits = []
        while q:
            n = q.popleft()
            for src, site, kind in g.rev.get(n, ()):
                if (src, site, n) in g.bad_edges:
                    continue
                if app(src) or (kind == "data" and app_data(src)):
                    hits.append((src, site, kind, n))
                elif src not in reach:
                    reach[src] = (n, site, kind)
                    q.append(src)
        # confirm every code edge a finding relies on
        broken = False
        for src, site, kind, n in hits:
            edges = [(src, site, n)]
            cur = n
            seen = set()
            while reach.get(cur) is not None and cur not in seen:
                seen.add(cur)
                nxt, s2, _k = reach[cur]
                edges.append((cur, s2, nxt))
                cur = nxt
            for e in edges:
                if e not in g.bad_edges and not _verify(g, *e):
                    g.bad_edges.add(e)
                    broken = True
        if not broken:
            break

    out = []
    seen_sites = set()
    for src, site, kind, n in hits:
        if (site, n) in seen_sites:
            continue
        seen_sites.add((site, n))
        chain = []
        cur = n
        entry = None
        guard = set()
        while cur is not None and cur not in guard:
            guard.add(cur)
            nm = g.fname(cur)
            if nm is not None:
                chain.append(nm)
            if reach.get(cur) is None:
                entry = seeds[cur]
                break
            cur = reach[cur][0]
        callee = g.fname(n) or f"{n:#x}"
        sec = elf.section_at(site)
        shndx = sec.index if sec is not None else 0
        off = site - sec.addr if sec is not None else site
        if kind == "data":
            holder = g.objs[src][0]
            out.append(make(elf, dw, allow, shndx=shndx, off=off, addr=site, function=None, entry=entry,
                            kind="pointer", callee=callee, holder=holder, chain=chain,
                            line=dw.element_line(holder, callee)))
        else:
            insn = g.func_for(src, site).at(site)
            is_call = insn is not None and insn.mnemonic.startswith(("call", "jmp", "j"))
            out.append(make(elf, dw, allow, shndx=shndx, off=off, addr=site, function=g.fname(src),
                            entry=entry, kind="call" if is_call else "reference", callee=callee, chain=chain))
    for start, site, kind, callee, e, flags in raw:
        # quiet calls (libc falls back on ENOSYS) only where DWARF says the code is the app's
        if app(start) and (by_dwarf or not e.quiet):
            sec = elf.section_at(site)
            out.append(make(elf, dw, allow, shndx=sec.index, off=site - sec.addr, addr=site,
                            function=g.fname(start), entry=e, kind=kind, callee=callee, flags=flags))
    from . import insns

    if insns.is_enclave_image(g):
        out.extend(insns.scan(elf, g, dw, allow, {(f.section, f.offset) for f in out}))
    out.sort(key=lambda f: (f.section, f.offset))
    return out
