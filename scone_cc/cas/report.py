"""SGX REPORT and REPORT body (Intel SDM Vol. 3D §38.15, "REPORT").

The 384-byte body is what EREPORT fills and what a DCAP quote carries; the
432-byte REPORT adds KEYID and MAC. Offsets are the SDM's; bytes 20..31 are
the body's first reserved run (the SDK's ``reserved1[12]``; newer CPUs put
CET attributes at 20, so a hardware quote is parsed with ``strict=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from scone_cc.sgx.structs import ATTR_DEBUG, Field, _rsv, _Struct

REPORT_BODY_SIZE = 384
REPORT_SIZE = 432

_BODY_FIELDS = (
    Field("cpusvn", 0, 16, "b"),
    Field("miscselect", 16, 4),
    _rsv(20, 32),
    Field("isvextprodid", 32, 16, "b"),
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
    _rsv(262, 304),
    Field("isvfamilyid", 304, 16, "b"),
    Field("reportdata", 320, 64, "b"),
)


@dataclass(frozen=True)
class ReportBody(_Struct):
    """The 384-byte report body (SDM §38.15, bytes 0..383 of REPORT)."""

    NAME: ClassVar[str] = "REPORT body"
    SIZE: ClassVar[int] = REPORT_BODY_SIZE
    FIELDS: ClassVar[tuple[Field, ...]] = _BODY_FIELDS

    cpusvn: bytes = bytes(16)
    miscselect: int = 0
    isvextprodid: bytes = bytes(16)
    attributes: int = 0
    xfrm: int = 0
    mrenclave: bytes = bytes(32)
    mrsigner: bytes = bytes(32)
    configid: bytes = bytes(64)
    isvprodid: int = 0
    isvsvn: int = 0
    configsvn: int = 0
    isvfamilyid: bytes = bytes(16)
    reportdata: bytes = bytes(64)

    @property
    def debug(self) -> bool:
        return bool(self.attributes & ATTR_DEBUG)


@dataclass(frozen=True)
class Report(_Struct):
    """REPORT (SDM §38.15): the body, then KEYID (384, 32) and MAC (416, 16)."""

    NAME: ClassVar[str] = "REPORT"
    SIZE: ClassVar[int] = REPORT_SIZE
    FIELDS: ClassVar[tuple[Field, ...]] = _BODY_FIELDS + (
        Field("keyid", 384, 32, "b"),
        Field("mac", 416, 16, "b"),
    )

    cpusvn: bytes = bytes(16)
    miscselect: int = 0
    isvextprodid: bytes = bytes(16)
    attributes: int = 0
    xfrm: int = 0
    mrenclave: bytes = bytes(32)
    mrsigner: bytes = bytes(32)
    configid: bytes = bytes(64)
    isvprodid: int = 0
    isvsvn: int = 0
    configsvn: int = 0
    isvfamilyid: bytes = bytes(16)
    reportdata: bytes = bytes(64)
    keyid: bytes = bytes(32)
    mac: bytes = bytes(16)

    def body(self) -> ReportBody:
        return ReportBody.unpack(self.pack()[:REPORT_BODY_SIZE], strict=False)
