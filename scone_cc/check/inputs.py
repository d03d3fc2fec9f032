"""Turn the files given to scone-check into ELF blobs to check.

A path can be an ELF object or executable, an ``ar`` archive (regular or
thin), or a scone binary whose enclave image sits in section
``.scone.enclave`` (DESIGN.md §4). Non-ELF archive members are skipped with
a note; anything else that is not x86-64 ELF is bad input (SconeError).
"""

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import SconeError

ENCLAVE_SECTION = b".scone.enclave"
EM_X86_64 = 62
TRUNC = "the file is damaged or was cut short: rebuild it"
_MACHINES = {3: "i386", 40: "arm", 183: "aarch64", 243: "riscv", 8: "mips", 20: "powerpc", 21: "ppc64",
             22: "s390", 62: "x86-64"}


@dataclass
class Blob:
    """One ELF to check: its display name (``lib.a(m.o)``, ``app[.scone.enclave]``) and bytes."""

    name: str
    data: bytes


def _u16(d, o):
    return struct.unpack_from("<H", d, o)[0]


def validate_elf(name: str, data: bytes) -> None:
    """Raise SconeError unless ``data`` is a whole, little-endian x86-64 ELF64."""
    fix = "rebuild it with an x86-64 compiler (gcc -m64)"
    if data[:4] != b"\x7fELF":
        raise SconeError(f"{name}: not an ELF file (starts with {data[:4].hex() or 'nothing'}); pass objects, archives or executables")
    if len(data) < 64:
        raise SconeError(f"{name}: truncated ELF ({len(data)} bytes, the header alone needs 64); {TRUNC}")
    if data[4] != 2 or data[5] != 1:
        mach = _MACHINES.get(_u16(data, 18), "unknown machine")
        raise SconeError(f"{name}: {'32-bit' if data[4] == 1 else 'big-endian or odd'} ELF object for {mach}; "
                         f"scone builds x86-64 enclaves only: {fix}")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_machine != EM_X86_64:
        raise SconeError(f"{name}: ELF object for {_MACHINES.get(e_machine, f'machine {e_machine}')}, not x86-64; "
                         f"scone builds x86-64 enclaves only: {fix}")
    if e_type not in (1, 2, 3):
        raise SconeError(f"{name}: ELF type {e_type} is neither an object nor an executable; pass .o, .a or executables")
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    if shnum == 0 or shoff == 0:
        raise SconeError(f"{name}: ELF file has no section headers (stripped with sstrip?); keep the section headers")
    if shentsize != 64 or shoff + shnum * 64 > len(data):
        raise SconeError(f"{name}: truncated or malformed ELF (section headers at {shoff:#x} end past the file's "
                         f"{len(data)} bytes); {TRUNC}")
    if shstrndx >= shnum:
        raise SconeError(f"{name}: malformed ELF (section-name index {shstrndx} >= {shnum} sections); {TRUNC}")
    for i in range(shnum):
        sh_type, = struct.unpack_from("<I", data, shoff + i * 64 + 4)
        off, size = struct.unpack_from("<QQ", data, shoff + i * 64 + 24)
        if sh_type != 8 and sh_type != 0 and off + size > len(data):  # SHT_NOBITS holds no bytes
            raise SconeError(f"{name}: truncated or malformed ELF (section {i} at {off:#x}+{size:#x} ends past "
                             f"the file's {len(data)} bytes); {TRUNC}")


def _section(data: bytes, want: bytes):
    """(offset, size) of section ``want`` using only the section headers, or None."""
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, shstrndx = struct.unpack_from("<HH", data, 60)
    stroff, = struct.unpack_from("<Q", data, shoff + shstrndx * 64 + 24)
    for i in range(shnum):
        base = shoff + i * 64
        nameoff, = struct.unpack_from("<I", data, base)
        end = data.find(b"\0", stroff + nameoff)
        if data[stroff + nameoff:end] == want:
            off, size = struct.unpack_from("<QQ", data, base + 24)
            return off, size
    return None


def _ar_members(path: str, data: bytes, notes: list):
    """Yield (member name, bytes) of a regular or thin archive; skip symbol tables."""
    thin = data.startswith(b"!<thin>\n")
    pos, longnames = 8, b""
    while pos < len(data):
        if pos + 60 > len(data):
            raise SconeError(f"{path}: truncated archive (member header at {pos} is cut short); rebuild it with ar")
        hdr = data[pos:pos + 60]
        if hdr[58:60] != b"`\n":
            raise SconeError(f"{path}: malformed archive (bad member header at offset {pos}); rebuild it with ar")
        raw = hdr[:16].decode("latin-1").rstrip()
        try:
            size = int(hdr[48:58].decode("ascii").strip())
        except ValueError:
            raise SconeError(f"{path}: malformed archive (bad member size at offset {pos}); rebuild it with ar") from None
        body = pos + 60
        stored = not thin or raw in ("/", "/SYM64/", "//")   # thin members keep only a header
        pos = body + (size + (size & 1) if stored else 0)
        if raw in ("/", "/SYM64/"):                  # GNU symbol index
            continue
        if raw == "//":
            longnames = data[body:body + size]
            continue
        if raw.startswith("#1/"):                     # BSD: name stored before the data
            n = int(raw[3:])
            name = data[body:body + n].rstrip(b"\0").decode("latin-1")
            body, size = body + n, size - n
        elif raw.startswith("/") and raw[1:].isdigit():
            off = int(raw[1:])
            end = longnames.find(b"/\n", off)
            name = longnames[off:end if end >= 0 else None].decode("latin-1")
        else:
            name = raw[:-1] if raw.endswith("/") else raw
        if name in ("__.SYMDEF", "__.SYMDEF SORTED"):
            notes.append(f"{path}({name}): note: skipping the archive's symbol table (not an ELF object)")
            continue
        if thin:
            member = Path(path).parent / name if not os.path.isabs(name) else Path(name)
            try:
                yield name, member.read_bytes()
            except OSError as err:
                raise SconeError(f"{path}({name}): thin archive member {member} cannot be read "
                                 f"({err.strerror}); rebuild the archive or restore the file") from None
        else:
            if body + size > len(data):
                raise SconeError(f"{path}({name}): truncated archive (member ends past the file); rebuild it with ar")
            yield name, data[body:body + size]


def load(path: str, notes: list) -> list:
    """The ELF blobs in ``path`` (see module doc); notes about skipped members go to ``notes``."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise SconeError(f"{path}: is a directory; pass the object, archive or executable files in it") from None
    except OSError as err:
        raise SconeError(f"{path}: cannot read ({err.strerror}); check the path and its permissions") from None
    if data.startswith((b"!<arch>\n", b"!<thin>\n")):
        blobs = []
        for name, member in _ar_members(path, data, notes):
            shown = f"{path}({name})"
            if not member.startswith(b"\x7fELF"):
                notes.append(f"{shown}: note: skipping archive member that is not an ELF object")
                continue
            validate_elf(shown, member)
            blobs.append(Blob(shown, member))
        return blobs
    validate_elf(path, data)
    sec = _section(data, ENCLAVE_SECTION)
    if sec is not None:
        off, size = sec
        inner = f"{path}[.scone.enclave]"
        image = data[off:off + size]
        validate_elf(inner, image)
        return [Blob(inner, image)]
    return [Blob(path, data)]
