"""Build Finding records: the wording of every kind of finding in one place."""

import re

from . import policy
from .dwarf import key
from .finding import ERROR, WARNING, Finding

CLONE_THREAD_NAMES = "CLONE_VM|CLONE_THREAD"


def _loc(dw, elf, shndx, off):
    if dw is None or getattr(dw, "broken", False):
        return None
    try:
        return dw.line_at(key(elf, shndx, off))
    except Exception:     # noqa: BLE001 - damaged DWARF costs the line number, not the finding
        dw.broken = True
        return None


def make(elf, dw, allow, *, shndx, off, addr=None, function, entry, kind, callee=None,
         chain=(), holder=None, flags=None, line=None):
    """One Finding at section ``shndx`` + ``off`` (``addr``: the DWARF address if not the offset).

    ``kind``: call, reference, pointer (``holder`` = the data symbol), syscall,
    hook, syscall-function, clone (``flags`` = the constant, or None if unknown).
    """
    e = entry
    via = ""
    if len(chain) > 1:
        via = " through " + " -> ".join(chain)
    warn_unknown = kind == "clone" and flags is None
    if kind == "call":
        msg = f"call to '{callee}' needs system call {e.name} ({e.nr}){via}"
    elif kind == "reference":
        msg = f"reference to '{callee}' (its address is taken) needs system call {e.name} ({e.nr}){via}"
    elif kind == "pointer":
        holder = re.sub(r"\.\d+$", "", holder)          # gcc's name for a static local: "tab.0"
        msg = f"pointer to '{callee}' stored in '{holder}' needs system call {e.name} ({e.nr}){via}"
    elif kind == "syscall":
        msg = f"'syscall' instruction issues system call {e.name} ({e.nr})"
    elif kind == "hook":
        msg = f"call to '{policy.HOOK}' issues system call {e.name} ({e.nr})"
    elif kind == "syscall-function":
        msg = f"call to '{callee}' issues system call {e.name} ({e.nr})"
    elif kind == "clone" and callee is None:
        msg = (f"'syscall' instruction issues system call {e.name} ({e.nr}) with flags {flags:#x} "
               f"(without {CLONE_THREAD_NAMES}) to make a new process")
    elif kind == "clone" and not warn_unknown:
        msg = (f"call to '{callee}' with flags {flags:#x} (without {CLONE_THREAD_NAMES}) needs system call "
               f"{e.name} ({e.nr}) to make a new process")
    else:
        msg = (f"call to '{callee}' with flags not known here needs system call {e.name} ({e.nr}), "
               f"which enclaves serve only for threads ({CLONE_THREAD_NAMES})")
    if not warn_unknown:
        msg += ", which enclaves do not support"
    severity = WARNING if warn_unknown or policy.is_allowed(allow, callee, e.name, *chain) else ERROR
    src = line if line is not None else _loc(dw, elf, shndx, off if addr is None else addr)
    sec = elf.sections[shndx].name if 0 <= shndx < len(elf.sections) else "?"
    return Finding(obj=elf.name, section=sec, offset=off, function=function or "", callee=callee,
                   syscall=e.name, nr=e.nr, message=msg, fix=e.fix, kind=kind, severity=severity,
                   src=src[0] if src else None, line=src[1] if src else 0, col=src[2] if src else 0,
                   chain=list(chain))
