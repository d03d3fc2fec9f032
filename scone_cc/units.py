"""Sizes and counts as users type them: ``64M``, ``256K``, ``1G``, ``8``.

Shared by scone-gcc's ``--scone-heap/--scone-stack`` and scone-sign's
``--heap/--stack``. Stdlib only and import-cheap.
"""

from scone_cc.errors import SconeError

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str, *, what: str = "size", align: int = 1) -> int:
    """Bytes from a decimal number with an optional K/M/G suffix (powers of 1024).

    ``what`` names the setting in the error (``--scone-heap``). With
    ``align`` (e.g. 4096: enclave pages are 4 KiB, sgx-spec §2) the result
    must be a positive multiple of it.
    """
    raw = text.strip()
    digits, suffix = raw, ""
    if raw[-1:].upper() in ("K", "M", "G"):
        digits, suffix = raw[:-1], raw[-1].upper()
    if not digits.isdigit() or not digits.isascii():
        raise SconeError(
            f"{what}: {text!r} is not a size; write a number of bytes with an "
            "optional K, M or G suffix, e.g. 64M")
    value = int(digits) * _SUFFIX[suffix]
    if value <= 0:
        raise SconeError(f"{what}: {text!r} must be greater than zero")
    if value % align:
        raise SconeError(
            f"{what}: {text!r} ({value} bytes) is not a multiple of {align} bytes; "
            f"round it up, e.g. {-(-value // align) * align}")
    return value


def parse_count(text: str, *, what: str = "count", low: int = 1) -> int:
    """A plain decimal count, at least ``low`` (e.g. the number of TCS, sgx-spec §4)."""
    raw = text.strip()
    if not raw.isdigit() or not raw.isascii():
        raise SconeError(f"{what}: {text!r} is not a whole number; write e.g. {max(low, 8)}")
    value = int(raw)
    if value < low:
        raise SconeError(f"{what}: {text!r} must be at least {low}")
    return value
