"""Instructions that fault inside an SGX enclave (DESIGN.md §11).

``SYSCALL``, ``SYSENTER`` and ``INT 0x80`` raise #UD in an enclave: a program
that makes a system call itself instead of through libc (the scone hook)
dies there, and SIM kills it the same way; those are errors. ``CPUID``
raises #UD always and ``RDTSC``/``RDTSCP`` on SGX1; the runtime's exception
handler emulates them (runtime/trusted/exception.c), so they are notes:
correct, but each costs an exception. The runtime's own sites
(``__scone_*``) are not reported.

Only enclave images are scanned (they define ``__scone_entry``): an ordinary
executable may use all of these.
"""

import re

from . import policy
from .finding import ERROR, NOTE, WARNING, Finding
from .report import _loc

_PATTERN = re.compile(rb"\x0f[\x05\x34\xa2\x31]|\x0f\x01\xf9|\xcd\x80")

_UD_FIX = ("make system calls through libc (the scone hook), e.g. syscall(2), "
           "or allow it with --scone-allow=syscall if the path never runs")
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
            src = _loc(dw, elf, sec.index, site)
            out.append(Finding(obj=elf.name, section=sec.name, offset=off, function=g.fname(start) or "",
                               callee=None, syscall=insn.mnemonic, nr=-1, message=why, fix=fix,
                               kind="instruction", severity=severity,
                               src=src[0] if src else None, line=src[1] if src else 0,
                               col=src[2] if src else 0))
    return out
