"""SGX architectural structures as frozen dataclasses with explicit offsets.

Each structure carries a field table (name, offset, size, kind) taken from
docs/sgx-spec.md: §2 SECINFO, §3 SECS, §4 TCS, §6 SIGSTRUCT. ``pack()`` writes
the exact bytes; ``unpack(data)`` rejects a wrong length, a wrong constant
header and any non-zero reserved byte, with a ``StructError`` that names the
structure, the field and its offset. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from scone_cc.errors import SconeError


class StructError(SconeError):
    """Bytes that are not a valid SGX structure (wrong size, header, reserved)."""


@dataclass(frozen=True)
class Field:
    """One row of a structure's table.

    ``kind``: ``"u"`` little-endian unsigned integer (also the 384-byte RSA
    numbers, which SIGSTRUCT stores little-endian, sgx-spec §6); ``"b"`` raw
    bytes; ``"const"`` bytes that must equal ``value``; ``"rsv"`` reserved,
    must be zero.
    """

    name: str
    offset: int
    size: int
    kind: str = "u"
    value: bytes = b""


def _rsv(offset: int, end: int) -> Field:
    return Field(f"reserved@{offset}", offset, end - offset, "rsv")


class _Struct:
    """Shared pack/unpack over ``FIELDS``; subclasses are frozen dataclasses."""

    NAME: ClassVar[str]
    SIZE: ClassVar[int]
    FIELDS: ClassVar[tuple[Field, ...]]

    def pack(self) -> bytes:
        """The structure's bytes, exactly ``SIZE`` long (reserved bytes zero)."""
        out = bytearray(self.SIZE)
        for f in self.FIELDS:
            if f.kind == "const":
                out[f.offset:f.offset + f.size] = f.value
            elif f.kind == "u":
                v = getattr(self, f.name)
                if not 0 <= v < 1 << (8 * f.size):
                    raise StructError(f"{self.NAME}.{f.name}: {v:#x} does not fit {f.size} bytes")
                out[f.offset:f.offset + f.size] = v.to_bytes(f.size, "little")
            elif f.kind == "b":
                v = bytes(getattr(self, f.name))
                if len(v) != f.size:
                    raise StructError(f"{self.NAME}.{f.name}: {len(v)} bytes, must be {f.size}")
                out[f.offset:f.offset + f.size] = v
        return bytes(out)

    @classmethod
    def problems(cls, data: bytes) -> list[str]:
        """Every way ``data`` breaks the table: length, constants, reserved bytes."""
        if len(data) != cls.SIZE:
            return [f"{cls.NAME}: {len(data)} bytes, must be exactly {cls.SIZE}"]
        found = []
        for f in cls.FIELDS:
            got = bytes(data[f.offset:f.offset + f.size])
            if f.kind == "const" and got != f.value:
                found.append(f"{cls.NAME}.{f.name} at offset {f.offset}: {got.hex()}, "
                             f"must be {f.value.hex()}")
            elif f.kind == "rsv" and any(got):
                first = next(i for i, b in enumerate(got) if b)
                found.append(f"{cls.NAME}: reserved byte at offset {f.offset + first} is "
                             f"{got[first]:#04x}, must be zero")
        return found

    @classmethod
    def unpack(cls, data: bytes, *, strict: bool = True):
        """Parse ``data``; with ``strict`` raise StructError on any problem.

        ``strict=False`` still requires the exact length (nothing can be read
        otherwise) but lets a verifier report bad constants and reserved bytes
        itself.
        """
        data = bytes(data)
        found = cls.problems(data)
        if found and (strict or len(data) != cls.SIZE):
            raise StructError("; ".join(found))
        kw = {}
        for f in cls.FIELDS:
            raw = data[f.offset:f.offset + f.size]
            if f.kind == "u":
                kw[f.name] = int.from_bytes(raw, "little")
            elif f.kind == "b":
                kw[f.name] = raw
        return cls(**kw)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


# --- SECINFO (sgx-spec §2) -------------------------------------------------

SECINFO_R, SECINFO_W, SECINFO_X = 1, 2, 4
SECINFO_PENDING, SECINFO_MODIFIED, SECINFO_PR = 8, 16, 32
PT_SECS, PT_TCS, PT_REG, PT_VA, PT_TRIM = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Secinfo(_Struct):
    """SECINFO (sgx-spec §2): FLAGS = (page type << 8) | permissions."""

    NAME: ClassVar[str] = "SECINFO"
    SIZE: ClassVar[int] = 64
    FIELDS: ClassVar[tuple[Field, ...]] = (Field("flags", 0, 8), _rsv(8, 64))

    flags: int = 0

    @property
    def page_type(self) -> int:
        return (self.flags >> 8) & 0xFF

    def eadd_problems(self) -> list[str]:
        """Why EADD would #GP on this SECINFO (sgx-spec §1.2, §2), or []."""
        found = []
        if self.flags >> 16:
            found.append(f"SECINFO.FLAGS {self.flags:#x}: reserved bits 63:16 set")
        if self.flags & (SECINFO_PENDING | SECINFO_MODIFIED | SECINFO_PR):
            found.append(f"SECINFO.FLAGS {self.flags:#x}: PENDING/MODIFIED/PR set for EADD")
        if self.page_type not in (PT_TCS, PT_REG):
            found.append(f"SECINFO page type {self.page_type}: EADD takes PT_REG or PT_TCS")
        if self.page_type == PT_REG and self.flags & SECINFO_W and not self.flags & SECINFO_R:
            found.append("SECINFO: W without R")
        if self.page_type == PT_TCS and self.flags & 7:
            found.append("SECINFO: a TCS carries no permission bits (must be 0x100)")
        if self.flags & 0xC0:
            found.append(f"SECINFO.FLAGS {self.flags:#x}: reserved bits 7:6 set")
        return found


# --- SECS (sgx-spec §3) ----------------------------------------------------

ATTR_INIT = 1 << 0
ATTR_DEBUG = 1 << 1
ATTR_MODE64BIT = 1 << 2
ATTR_PROVISIONKEY = 1 << 4
ATTR_EINITTOKENKEY = 1 << 5
ATTR_CET = 1 << 6
ATTR_KSS = 1 << 7
ATTR_AEXNOTIFY = 1 << 10

XFRM_X87, XFRM_SSE, XFRM_AVX = 1 << 0, 1 << 1, 1 << 2
XFRM_MPX = (1 << 3) | (1 << 4)
XFRM_AVX512 = (1 << 5) | (1 << 6) | (1 << 7)
XFRM_PKRU = 1 << 9
XFRM_AMX = (1 << 17) | (1 << 18)


@dataclass(frozen=True)
class Secs(_Struct):
    """SECS (sgx-spec §3): the ECREATE input. Only SIZE and SSAFRAMESIZE are measured."""

    NAME: ClassVar[str] = "SECS"
    SIZE: ClassVar[int] = 4096
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("size", 0, 8),
        Field("baseaddr", 8, 8),
        Field("ssaframesize", 16, 4),
        Field("miscselect", 20, 4),
        Field("cet_leg_bitmap_offset", 24, 8),
        Field("cet_attributes", 32, 1),
        _rsv(33, 48),
        Field("attributes", 48, 8),
        Field("xfrm", 56, 8),
        Field("mrenclave", 64, 32, "b"),
        _rsv(96, 128),
        Field("mrsigner", 128, 32, "b"),
        _rsv(160, 192),
        Field("configid", 192, 64, "b"),
        Field("isvprodid", 256, 2),
        Field("isvsvn", 258, 2),
        Field("configsvn", 260, 2),
        _rsv(262, 4096),
    )

    size: int = 0
    baseaddr: int = 0
    ssaframesize: int = 1
    miscselect: int = 0
    cet_leg_bitmap_offset: int = 0
    cet_attributes: int = 0
    attributes: int = ATTR_MODE64BIT
    xfrm: int = XFRM_X87 | XFRM_SSE
    mrenclave: bytes = bytes(32)
    mrsigner: bytes = bytes(32)
    configid: bytes = bytes(64)
    isvprodid: int = 0
    isvsvn: int = 0
    configsvn: int = 0

    def ecreate_problems(self) -> list[str]:
        """The ECREATE checks that need no CPUID (sgx-spec §3), or []."""
        found = []
        if self.size < 8192 or self.size & (self.size - 1):
            found.append(f"SECS.SIZE {self.size:#x}: must be a power of two >= 8192")
        elif self.baseaddr & (self.size - 1):
            found.append(f"SECS.BASEADDR {self.baseaddr:#x} is not aligned to SIZE {self.size:#x}")
        if self.ssaframesize < 1:
            found.append("SECS.SSAFRAMESIZE must be at least 1 page")
        if self.attributes & ATTR_INIT:
            found.append("SECS.ATTRIBUTES.INIT must be 0 at ECREATE")
        if self.xfrm & 3 != 3:
            found.append(f"SECS.XFRM {self.xfrm:#x}: x87 and SSE (bits 0, 1) are mandatory")
        if not self.attributes & ATTR_KSS and (any(self.configid) or self.configsvn):
            found.append("SECS.CONFIGID/CONFIGSVN must be zero without ATTRIBUTES.KSS")
        return found


# --- TCS (sgx-spec §4) -----------------------------------------------------

TCS_DBGOPTIN = 1 << 0
TCS_AEXNOTIFY = 1 << 1


@dataclass(frozen=True)
class Tcs(_Struct):
    """TCS (sgx-spec §4). Offsets (OSSA, OENTRY, OFSBASE, OGSBASE) are from BASEADDR."""

    NAME: ClassVar[str] = "TCS"
    SIZE: ClassVar[int] = 4096
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("state", 0, 8),
        Field("flags", 8, 8),
        Field("ossa", 16, 8),
        Field("cssa", 24, 4),
        Field("nssa", 28, 4),
        Field("oentry", 32, 8),
        Field("aep", 40, 8),
        Field("ofsbase", 48, 8),
        Field("ogsbase", 56, 8),
        Field("fslimit", 64, 4),
        Field("gslimit", 68, 4),
        Field("ocetssa", 72, 8),
        Field("prevssp", 80, 8),
        _rsv(88, 4096),
    )

    state: int = 0
    flags: int = 0
    ossa: int = 0
    cssa: int = 0
    nssa: int = 1
    oentry: int = 0
    aep: int = 0
    ofsbase: int = 0
    ogsbase: int = 0
    fslimit: int = 0xFFF
    gslimit: int = 0xFFF
    ocetssa: int = 0
    prevssp: int = 0

    def eadd_problems(self) -> list[str]:
        """Why EADD/EENTER would fault on this TCS (sgx-spec §4, §8.6), or []."""
        found = []
        for name in ("ossa", "ofsbase", "ogsbase"):
            if getattr(self, name) % 4096:
                found.append(f"TCS.{name.upper()} {getattr(self, name):#x} is not 4 KiB aligned")
        if self.flags & ~(TCS_DBGOPTIN | TCS_AEXNOTIFY):
            found.append(f"TCS.FLAGS {self.flags:#x}: reserved bits set")
        if self.nssa < 1:
            found.append("TCS.NSSA must be at least 1")
        return found


def tcs_as_measured(tcs_bytes: bytes) -> bytes:
    """The TCS page as EEXTEND sees it after EADD (sgx-spec §1.2, §8.6).

    EADD of a PT_TCS page forces STATE, CSSA, AEP and FLAGS.DBGOPTIN to zero
    in the EPC copy, and EEXTEND hashes the EPC copy.
    """
    if len(tcs_bytes) != Tcs.SIZE:
        raise StructError(f"TCS: {len(tcs_bytes)} bytes, must be exactly {Tcs.SIZE}")
    page = bytearray(tcs_bytes)
    page[0:8] = bytes(8)                                   # STATE
    page[8] &= ~TCS_DBGOPTIN & 0xFF                        # FLAGS.DBGOPTIN
    page[24:28] = bytes(4)                                 # CSSA
    page[40:48] = bytes(8)                                 # AEP
    return bytes(page)


# --- SIGSTRUCT (sgx-spec §6) -----------------------------------------------

SIGSTRUCT_HEADER = bytes.fromhex("06000000E10000000000010000000000")
SIGSTRUCT_HEADER2 = bytes.fromhex("01010000600000006000000001000000")
RSA_BYTES = 384


@dataclass(frozen=True)
class Sigstruct(_Struct):
    """SIGSTRUCT (sgx-spec §6), 1808 bytes.

    ``modulus``, ``signature``, ``q1`` and ``q2`` are integers; they are
    stored little-endian in zero-padded 384-byte fields (§8.1, §8.14).
    ``date`` is the raw BCD u32 (0x20160109 for 2016-01-09, §8.2).
    """

    NAME: ClassVar[str] = "SIGSTRUCT"
    SIZE: ClassVar[int] = 1808
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("header", 0, 16, "const", SIGSTRUCT_HEADER),
        Field("vendor", 16, 4),
        Field("date", 20, 4),
        Field("header2", 24, 16, "const", SIGSTRUCT_HEADER2),
        Field("swdefined", 40, 4),
        _rsv(44, 128),
        Field("modulus", 128, RSA_BYTES),
        Field("exponent", 512, 4),
        Field("signature", 516, RSA_BYTES),
        Field("miscselect", 900, 4),
        Field("miscmask", 904, 4),
        Field("cet_attributes", 908, 1),
        Field("cet_attributes_mask", 909, 1),
        _rsv(910, 912),
        Field("isvfamilyid", 912, 16, "b"),
        Field("attributes", 928, 8),
        Field("xfrm", 936, 8),
        Field("attributemask", 944, 8),
        Field("xfrmmask", 952, 8),
        Field("enclavehash", 960, 32, "b"),
        _rsv(992, 1008),
        Field("isvextprodid", 1008, 16, "b"),
        Field("isvprodid", 1024, 2),
        Field("isvsvn", 1026, 2),
        _rsv(1028, 1040),
        Field("q1", 1040, RSA_BYTES),
        Field("q2", 1424, RSA_BYTES),
    )

    vendor: int = 0
    date: int = 0
    swdefined: int = 0
    modulus: int = 0
    exponent: int = 3
    signature: int = 0
    miscselect: int = 0
    miscmask: int = 0
    cet_attributes: int = 0
    cet_attributes_mask: int = 0
    isvfamilyid: bytes = bytes(16)
    attributes: int = 0
    xfrm: int = 0
    attributemask: int = 0
    xfrmmask: int = 0
    enclavehash: bytes = bytes(32)
    isvextprodid: bytes = bytes(16)
    isvprodid: int = 0
    isvsvn: int = 0
    q1: int = 0
    q2: int = 0
