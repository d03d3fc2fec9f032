"""Build, sign and check SIGSTRUCT (docs/sgx-spec.md §6). Pure: no I/O.

The attribute policy scone signs with (none of it is mandated, §6 "Typical
mask choices"):

* ATTRIBUTES.FLAGS = MODE64BIT, plus DEBUG unless the enclave is signed for
  production; ATTRIBUTEMASK.FLAGS = all ones. Every flag is enforced: a debug
  signature cannot be loaded as a production enclave and vice versa, INIT
  (0 in SECS before EINIT, §8.15), PROVISIONKEY, EINITTOKENKEY, KSS, CET,
  AEXNOTIFY and every reserved bit must be 0.
* XFRM = x87 | SSE (the two mandatory features). The XFRM mask enforces
  those two and forbids MPX, PKRU and every unknown bit, but leaves AVX and
  AVX-512 free: the loader may enable them when XCR0 has them, because their
  state fits in one SSA page (XSAVE ends at 2688 bytes, below the
  4096 - 184 - 16 available). AMX (8 KiB of tile data) is left free only when
  the SSA frame can hold it.
* MISCSELECT = EXINFO (bit 0) with MISCMASK all ones but bit 0: the loader
  sets SECS.MISCSELECT.EXINFO where the CPU supports it (CPUID.(12H,0):EBX
  bit 0), and the CPU then reports #PF and #GP in the SSA's EXITINFO with
  the address and error code in the MISC region (SDM Vol. 3D, the SSA
  frame's MISC region, "EXINFO Structure");
  without it an enclave never learns of its page faults. Not enforced, so
  the same signature loads on a CPU without EXINFO (where a program's
  SIGSEGV handler cannot run inside). The SSA frame keeps its 16 bytes
  either way. MRENCLAVE does not cover MISCSELECT (ECREATE measures only
  SSAFRAMESIZE and SIZE).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from typing import Callable

from scone_cc.errors import SconeError
from scone_cc.sgx.structs import (
    ATTR_DEBUG,
    ATTR_KSS,
    ATTR_MODE64BIT,
    RSA_BYTES,
    XFRM_AMX,
    XFRM_AVX,
    XFRM_AVX512,
    XFRM_SSE,
    XFRM_X87,
    Sigstruct,
)

# A signer takes the 256 bytes to sign and returns the big-endian RSA
# signature (PKCS#1 v1.5, SHA-256, e = 3) and the public modulus. A key file,
# an HSM or a remote service all fit behind it.
Signer = Callable[[bytes], "tuple[bytes, int]"]

SIGSTRUCT_SIZE = Sigstruct.SIZE
EXPONENT = 3
XFRM = XFRM_X87 | XFRM_SSE
ATTRIBUTEMASK = (1 << 64) - 1
MISCSELECT_EXINFO = 1
MISCSELECT = MISCSELECT_EXINFO
MISCMASK = ((1 << 32) - 1) & ~MISCSELECT_EXINFO
VENDORS = (0, 0x8086)

_SSA_GPRSGX = 184
_SSA_MISC_EXINFO = 16
_XSAVE_END_AMX = 11008            # standard-format XSAVE: XTILEDATA ends here
_PKCS1_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def xfrm_mask(ssa_frame_pages: int = 1) -> int:
    """The XFRM mask scone signs with (module docstring; sgx-spec §3, §5)."""
    free = XFRM_AVX | XFRM_AVX512
    if ssa_frame_pages * 4096 - _SSA_GPRSGX - _SSA_MISC_EXINFO >= _XSAVE_END_AMX:
        free |= XFRM_AMX
    return ((1 << 64) - 1) & ~free


# --- DATE: BCD yyyymmdd (§6, §8.2) -----------------------------------------

def bcd_date(day: _dt.date) -> int:
    """DATE as stored: 2016-01-09 -> 0x20160109 (sgx-spec §8.2)."""
    return int(f"{day.year:04d}{day.month:02d}{day.day:02d}", 16)


def date_from_bcd(value: int) -> _dt.date:
    """Inverse of ``bcd_date``; SconeError if ``value`` is not a real BCD date."""
    text = f"{value:08x}"
    try:
        if not text.isdigit():
            raise ValueError
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise SconeError(f"SIGSTRUCT.DATE {value:#010x} is not a BCD date yyyymmdd") from None


def parse_date(text: str) -> _dt.date:
    """``YYYY-MM-DD`` -> date; an impossible or malformed date is a SconeError."""
    try:
        day = _dt.date.fromisoformat(text)
        if len(text) != 10:
            raise ValueError
    except ValueError:
        raise SconeError(f"--date {text!r}: not a real date; write YYYY-MM-DD, e.g. 2024-02-29") from None
    if day.year < 1000:
        raise SconeError(f"--date {text!r}: the year must have four digits")
    return day


def default_date() -> _dt.date:
    """Today in UTC, or the day of ``SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date()
        except (ValueError, OverflowError, OSError):
            raise SconeError(f"SOURCE_DATE_EPOCH={epoch!r}: not a Unix time in seconds") from None
    return _dt.datetime.now(_dt.timezone.utc).date()


# --- building --------------------------------------------------------------

def build(enclavehash: bytes, *, debug: bool = True, isvprodid: int = 0, isvsvn: int = 0,
          date: _dt.date | None = None, swdefined: int = 0, ssa_frame_pages: int = 1) -> bytes:
    """An unsigned SIGSTRUCT (modulus, signature, Q1, Q2 zero) (sgx-spec §6)."""
    if len(enclavehash) != 32:
        raise SconeError(f"ENCLAVEHASH must be 32 bytes, got {len(enclavehash)}")
    for name, value in (("ISVPRODID", isvprodid), ("ISVSVN", isvsvn)):
        if not 0 <= value <= 0xFFFF:
            raise SconeError(f"{name} {value} is out of range; use 0..65535")
    if not 0 <= swdefined <= 0xFFFFFFFF:
        raise SconeError(f"SWDEFINED {swdefined} does not fit 32 bits")
    flags = ATTR_MODE64BIT | (ATTR_DEBUG if debug else 0)
    return Sigstruct(
        vendor=0,
        date=bcd_date(date or default_date()),
        swdefined=swdefined,
        exponent=EXPONENT,
        miscselect=MISCSELECT,
        miscmask=MISCMASK,
        attributes=flags,
        xfrm=XFRM,
        attributemask=ATTRIBUTEMASK,
        xfrmmask=xfrm_mask(ssa_frame_pages),
        enclavehash=bytes(enclavehash),
        isvprodid=isvprodid,
        isvsvn=isvsvn,
    ).pack()


def _checked_size(sigstruct: bytes) -> bytes:
    if len(sigstruct) != SIGSTRUCT_SIZE:
        raise SconeError(f"SIGSTRUCT is {len(sigstruct)} bytes, must be {SIGSTRUCT_SIZE}")
    return bytes(sigstruct)


def signed_data(sigstruct: bytes) -> bytes:
    """The 256 signed bytes: ``sig[0:128] + sig[900:1028]`` (sgx-spec §6)."""
    sig = _checked_size(sigstruct)
    return sig[0:128] + sig[900:1028]


def encoded_message(data: bytes) -> int:
    """EMSA-PKCS1-v1_5 of SHA-256(data) for a 3072-bit key, as an integer (§6)."""
    digest = hashlib.sha256(data).digest()
    em = b"\x00\x01" + b"\xff" * 330 + b"\x00" + _PKCS1_SHA256_PREFIX + digest
    assert len(em) == RSA_BYTES
    return int.from_bytes(em, "big")


def q1_q2(signature: int, modulus: int) -> tuple[int, int]:
    """Q1 = floor(S^2 / N), Q2 = floor(((S^2 mod N) * S) / N) (sgx-spec §6)."""
    q1, r1 = divmod(signature * signature, modulus)
    return q1, (r1 * signature) // modulus


def attach(sigstruct: bytes, signature: bytes, modulus: int) -> bytes:
    """Put a big-endian signature and its key into ``sigstruct``, with Q1 and Q2.

    The signature is checked against the signed data first (sgx-spec §6), so
    a wrong key or a signature over other bytes never reaches a file.
    """
    sig = Sigstruct.unpack(_checked_size(sigstruct), strict=False)
    if modulus.bit_length() != 3072:
        raise SconeError(f"the public key has {modulus.bit_length()} bits; SGX needs RSA-3072")
    if len(signature) != RSA_BYTES:
        raise SconeError(f"the signature is {len(signature)} bytes; an RSA-3072 signature is "
                         f"{RSA_BYTES} (raw PKCS#1 v1.5, e.g. `openssl dgst -sha256 -sign`)")
    s = int.from_bytes(signature, "big")
    if s >= modulus or pow(s, EXPONENT, modulus) != encoded_message(signed_data(sigstruct)):
        raise SconeError("the signature does not verify against the public key and the data to sign "
                         "(wrong key, exponent not 3, or signed other bytes than `gendata` wrote)")
    q1, q2 = q1_q2(s, modulus)
    return sig.replace(modulus=modulus, exponent=EXPONENT, signature=s, q1=q1, q2=q2).pack()


def sign(sigstruct: bytes, signer: Signer) -> bytes:
    """Sign ``sigstruct`` through ``signer`` and return it complete (sgx-spec §6)."""
    signature, modulus = signer(signed_data(sigstruct))
    return attach(sigstruct, signature, modulus)


def mrsigner(sigstruct: bytes) -> bytes:
    """MRSIGNER = SHA-256 of the 384-byte little-endian MODULUS field (sgx-spec §6)."""
    return hashlib.sha256(_checked_size(sigstruct)[128:512]).digest()


# --- checking, the way EINIT does -------------------------------------------

def verify(sigstruct: bytes, *, mrenclave: bytes | None = None,
           secs_attributes: int | None = None, secs_xfrm: int | None = None,
           secs_miscselect: int | None = None) -> list[str]:
    """EINIT's checks in order (sgx-spec §6); returns one line per problem.

    Structure (constants, VENDOR, EXPONENT, reserved bytes), the signature by
    the CPU's Q1/Q2 path, ISVFAMILYID without KSS, then, when given, the
    measurement and the SECS attributes / XFRM / MISCSELECT under the masks.
    """
    if len(sigstruct) != SIGSTRUCT_SIZE:
        return [f"SIGSTRUCT is {len(sigstruct)} bytes, must be {SIGSTRUCT_SIZE}"]
    found = Sigstruct.problems(sigstruct)
    sig = Sigstruct.unpack(sigstruct, strict=False)
    if sig.vendor not in VENDORS:
        found.append(f"SIGSTRUCT.VENDOR {sig.vendor:#x}: must be 0 or 0x8086")
    if sig.exponent != EXPONENT:
        found.append(f"SIGSTRUCT.EXPONENT {sig.exponent}: must be 3")
    found += _signature_problems(sig, signed_data(sigstruct))
    attrs = sig.attributes if secs_attributes is None else secs_attributes
    if any(sig.isvfamilyid) and not attrs & ATTR_KSS:
        found.append("SIGSTRUCT.ISVFAMILYID is set but ATTRIBUTES.KSS is not")
    if mrenclave is not None and bytes(mrenclave) != sig.enclavehash:
        found.append(f"measurement mismatch: ENCLAVEHASH {sig.enclavehash.hex()} but the enclave "
                     f"measures {bytes(mrenclave).hex()}")
    if secs_attributes is not None and (secs_attributes ^ sig.attributes) & sig.attributemask:
        found.append(f"ATTRIBUTES {secs_attributes:#x} differ from the signed {sig.attributes:#x} "
                     f"under mask {sig.attributemask:#x}")
    if secs_xfrm is not None and (secs_xfrm ^ sig.xfrm) & sig.xfrmmask:
        found.append(f"XFRM {secs_xfrm:#x} differs from the signed {sig.xfrm:#x} "
                     f"under mask {sig.xfrmmask:#x}")
    if secs_miscselect is not None and (secs_miscselect ^ sig.miscselect) & sig.miscmask:
        found.append(f"MISCSELECT {secs_miscselect:#x} differs from the signed {sig.miscselect:#x} "
                     f"under mask {sig.miscmask:#x}")
    return found


def _signature_problems(sig: Sigstruct, data: bytes) -> list[str]:
    n, s = sig.modulus, sig.signature
    if n == 0:
        return ["SIGSTRUCT is not signed (MODULUS is zero)"]
    if s >= n:
        return ["SIGSTRUCT.SIGNATURE is not below MODULUS"]
    r1 = s * s - sig.q1 * n
    if not 0 <= r1 < n:
        return ["SIGSTRUCT.Q1 is wrong: S^2 != Q1*N + R1 with 0 <= R1 < N"]
    r2 = r1 * s - sig.q2 * n
    if not 0 <= r2 < n:
        return ["SIGSTRUCT.Q2 is wrong: R1*S != Q2*N + R2 with 0 <= R2 < N"]
    if r2 != encoded_message(data):
        return ["SIGSTRUCT.SIGNATURE does not verify: S^3 mod N is not the PKCS#1 v1.5 "
                "encoding of SHA-256(signed data) (tampered SIGSTRUCT or wrong key)"]
    return []
