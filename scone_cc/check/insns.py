"""Instructions that fault inside an SGX enclave (DESIGN.md §11).

``SYSCALL``, ``SYSENTER`` and ``INT 0x80`` raise #UD in an enclave: a program
that makes a system call itself instead of through libc (the scone hook)
dies there, and SIM kills it the same way; those are errors. ``CPUID``
raises #UD always and ``RDTSC``/``RDTSCP`` on SGX1; the runtime's exception
handler emulates them (runtime/trusted/exception.c), so they are notes:
correct, but each costs an exception. The runtime's own sites
(``__scone_*``) are not reported.

The other instructions the SDM lists as illegal inside an enclave raise
#UD there and nothing emulates them: Intel SDM Vol. 3D, section 37.6.1
"Illegal Instructions" (39.6.1 in the 2016 editions), Table 37-1 "Illegal
Instructions Inside an Enclave":

* VM-exit generating instructions: CPUID, GETSEC, RDPMC, SGDT, SIDT, SLDT,
  STR, VMCALL, VMFUNC (CPUID is emulated, above);
* I/O instructions: IN, INS/INSB/INSW/INSD, OUT, OUTS/OUTSB/OUTSW/OUTSD;
* instructions that access segment registers: far CALL, far JMP, far RET,
  INT n/INTO, IRET, LDS/LES/LFS/LGS/LSS, MOV to DS/ES/SS/FS/GS,
  POP DS/ES/SS/FS/GS, SYSCALL, SYSENTER (in 64-bit mode LDS, LES, INTO and
  POP DS/ES/SS do not exist);
* RDTSC/RDTSCP on SGX1 (section 37.6.1's text), emulated, above.

``INT3`` is legal (its #BP leaves by AEX like any exception). These are
errors: the program's SIGILL handler, if it has one, is all that runs
(``--scone-allow=<name>`` makes one a warning: the mnemonic, or
``mov-sreg``, ``pop-sreg``, ``lcall``, ``ljmp``). LAR/LSL/VERR/VERW are
not in the table: they run.

Only enclave images are scanned (they define ``__scone_entry``): an ordinary
executable may use all of these.
"""

import functools
import re

from capstone import CS_ARCH_X86, CS_MODE_64, Cs

from . import policy
from .finding import ERROR, NOTE, WARNING, Finding
from .report import _loc

_PATTERN = re.compile(rb"\x0f[\x05\x34\xa2\x31]|\x0f\x01\xf9|\xcd\x80")

_UD_FIX = ("make system calls through libc (the scone hook), e.g. syscall(2), "
           "or allow it with --scone-allow=syscall if the path never runs")
# Candidates for the table's other instructions, by their first opcode
# bytes (legacy and REX prefixes come before; capstone decides at the site):
# 0F 00 /0-/1 SLDT/STR, 0F 01 /0-/1 SGDT/SIDT, 0F 01 C1 VMCALL, 0F 01 D4
# VMFUNC, 0F 37 GETSEC, 0F 33 RDPMC, 0F A1/A9 POP FS/GS, 0F B2/B4/B5
# LSS/LFS/LGS, CD ib INT n, E4-E7/EC-EF IN/OUT, 6C-6F INS/OUTS, CA/CB far
# RET, CF IRET, 8E MOV to Sreg, FF /3 /5 far CALL/JMP.
_UD_PATTERN = re.compile(
    rb"\x0f\x00[\x00-\x0f\x40-\x4f\x80-\x8f\xc0-\xcf]|\x0f\x01[\x00-\x0f\x40-\x4f\x80-\x8f\xc1\xd4]"
    rb"|\x0f[\x37\x33\xa1\xa9\xb2\xb4\xb5]|\xcd[^\x03\x80]|[\xe4-\xe7\xec-\xef\x6c-\x6f\xca\xcb\xcf\x8e]"
    rb"|\xff[\x18-\x1f\x28-\x2f\x58-\x5f\x68-\x6f\x98-\x9f\xa8-\xaf]")

_SEG = "accesses a segment register, which SGX forbids inside an enclave"
# capstone mnemonic -> why it raises #UD (SDM Vol. 3D 37.6.1, Table 37-1)
ILLEGAL = {
    "sgdt": "causes a VM exit, which SGX forbids inside an enclave",
    "sidt": "causes a VM exit, which SGX forbids inside an enclave",
    "sldt": "causes a VM exit, which SGX forbids inside an enclave",
    "str": "causes a VM exit, which SGX forbids inside an enclave",
    "getsec": "causes a VM exit, which SGX forbids inside an enclave",
    "rdpmc": "causes a VM exit, which SGX forbids inside an enclave",
    "vmcall": "causes a VM exit, which SGX forbids inside an enclave",
    "vmfunc": "causes a VM exit, which SGX forbids inside an enclave",
    "in": "is port I/O, which SGX forbids inside an enclave",
    "out": "is port I/O, which SGX forbids inside an enclave",
    "insb": "is port I/O, which SGX forbids inside an enclave",
    "insw": "is port I/O, which SGX forbids inside an enclave",
    "insd": "is port I/O, which SGX forbids inside an enclave",
    "outsb": "is port I/O, which SGX forbids inside an enclave",
    "outsw": "is port I/O, which SGX forbids inside an enclave",
    "outsd": "is port I/O, which SGX forbids inside an enclave",
    "int": "is a software interrupt, which SGX forbids inside an enclave",
    "iret": _SEG, "iretd": _SEG, "iretq": _SEG,
    "retf": _SEG, "retfq": _SEG, "lcall": _SEG, "ljmp": _SEG,
    "lss": _SEG, "lfs": _SEG, "lgs": _SEG,
}
_ILLEGAL_FIX = "nothing emulates it inside the enclave: remove it from the enclave's code, or guard it so it never runs there"
_SREGS = ("ds", "es", "ss", "fs", "gs")


@functools.lru_cache(maxsize=1)
def _lite():
    return Cs(CS_ARCH_X86, CS_MODE_64)


def _illegal(mnemonic: str, ops: str):
    """(name, why) if the instruction raises #UD in an enclave (Table 37-1),
    else None. The name is what --scone-allow takes."""
    if mnemonic == "int":
        return ("int", ILLEGAL["int"]) if ops not in ("3", "0x3", "0x80") else None   # INT3 legal; 0x80 above
    if mnemonic == "mov" and ops.split(",")[0].strip() in _SREGS:
        return "mov-sreg", _SEG
    if mnemonic == "pop" and ops.strip() in _SREGS:
        return "pop-sreg", _SEG
    if mnemonic in ("call", "jmp", "ljmp", "lcall"):
        far = mnemonic[0] == "l" or ops.startswith(("ptr ", "far ")) or ":" in ops.split("[")[0]
        return ("l" + mnemonic.lstrip("l"), _SEG) if far else None
    return (mnemonic, ILLEGAL[mnemonic]) if mnemonic in ILLEGAL else None


# mnemonic -> (severity, why, fix)
KINDS = {
    "syscall": (ERROR, "'syscall' instruction raises #UD in an SGX enclave: the program dies here", _UD_FIX),
    "sysenter": (ERROR, "'sysenter' instruction raises #UD in an SGX enclave: the program dies here", _UD_FIX),
    "int": (ERROR, "'int 0x80' instruction raises #UD in an SGX enclave: the program dies here", _UD_FIX),
    "cpuid": (NOTE, "'cpuid' instruction raises #UD in an SGX enclave",
              "the runtime emulates it from the leaves read at start (an exception each time)"),
    "rdtsc": (NOTE, "'rdtsc' instruction raises #UD in an SGX1 enclave",
              "the runtime emulates it from the enclave's clock, a 1 GHz counter (an exception each time)"),
    "rdtscp": (NOTE, "'rdtscp' instruction raises #UD in an SGX1 enclave",
               "the runtime emulates it from the enclave's clock, a 1 GHz counter (an exception each time)"),
}


def is_enclave_image(g) -> bool:
    return any("__scone_entry" in ns for ns in g.fnames.values())


def scan(elf, g, dw, allow, reported) -> list:
    """Findings for the forbidden instructions of an enclave image; ``reported``
    holds (section, offset) of sites already reported (a raw ``syscall`` of an
    unsupported call), which are not reported twice."""
    out = []
    for sec in elf.sections:
        if not sec.exec or sec.type == 8 or not sec.size:      # SHT_NOBITS
            continue
        code = elf.bytes_of(sec)
        for m in _PATTERN.finditer(code):
            site = sec.addr + m.start()
            start = g.func_at(site)
            if start is None or any(n.startswith("__scone_") for n in g.fnames.get(start, ())):
                continue
            insn = g.func_for(start, site).at(site)
            if insn is None or insn.mnemonic not in KINDS:
                continue
            if insn.mnemonic == "int" and insn.op_str != "0x80":
                continue
            off = site - sec.addr
            if (sec.name, off) in reported:
                continue
            severity, why, fix = KINDS[insn.mnemonic]
            if severity == ERROR and policy.is_allowed(allow, insn.mnemonic):
                severity = WARNING
            out.append(_finding(elf, g, dw, sec, start, site, insn.mnemonic, severity, why, fix))
        out.extend(_scan_illegal(elf, g, dw, allow, reported, sec, code))
    return out


def _finding(elf, g, dw, sec, start, site, mnemonic, severity, why, fix):
    src = _loc(dw, elf, sec.index, site)
    return Finding(obj=elf.name, section=sec.name, offset=site - sec.addr, function=g.fname(start) or "",
                   callee=None, syscall=mnemonic, nr=-1, message=why, fix=fix,
                   kind="instruction", severity=severity,
                   src=src[0] if src else None, line=src[1] if src else 0,
                   col=src[2] if src else 0)


def _scan_illegal(elf, g, dw, allow, reported, sec, code):
    """The rest of Table 37-1 in one executable section. A byte pattern picks
    the functions worth decoding; each is decoded once, without operand
    detail (cheap), and only instructions that start exactly at a decoded
    boundary count. Untyped labels of hand-written assembly are not
    decoded (their bytes are often tables)."""
    starts = set()
    for m in _UD_PATTERN.finditer(code):
        start = g.func_at(sec.addr + m.start())
        # Typed functions only: hand-written assembly keeps tables in
        # .text under untyped labels (OpenSSL's K_XX_XX), data, not code.
        if start is not None and g.fsize.get(start):
            starts.add(start)
    out = []
    for start in sorted(starts):
        if any(n.startswith("__scone_") for n in g.fnames.get(start, ())):
            continue
        end = min(g.func_end(start), sec.addr + sec.size)
        if start < sec.addr or end <= start:
            continue
        body = code[start - sec.addr:end - sec.addr]
        for addr, _size, mnemonic, ops in _lite().disasm_lite(body, start):
            hit = _illegal(mnemonic, ops)
            if hit is None or (sec.name, addr - sec.addr) in reported:
                continue
            name, why = hit
            severity = WARNING if policy.is_allowed(allow, name) else ERROR
            text = f"{mnemonic} {ops}".strip()
            out.append(_finding(elf, g, dw, sec, start, addr, name, severity,
                                f"'{text}' raises #UD in an SGX enclave: it {why}", _ILLEGAL_FIX))
    return out
