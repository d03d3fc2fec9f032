"""Sizes and counts as typed by users (shared with scone-sign)."""

import pytest

from scone_cc.errors import SconeError
from scone_cc.units import parse_count, parse_size


@pytest.mark.parametrize("text, value", [
    ("4096", 4096),
    ("4K", 4096),
    ("4k", 4096),
    ("256K", 262144),
    ("64M", 67108864),
    ("1G", 1073741824),
    (" 2M ", 2097152),
])
def test_sizes(text, value):
    assert parse_size(text, align=4096) == value


@pytest.mark.parametrize("text, message", [
    ("", "is not a size"),
    ("M", "is not a size"),
    ("12Q", "is not a size"),
    ("-4K", "is not a size"),
    ("1.5M", "is not a size"),
    ("0", "greater than zero"),
    ("0K", "greater than zero"),
    ("1000", "not a multiple of 4096 bytes; round it up, e.g. 4096"),
    ("5K", "not a multiple of 4096 bytes; round it up, e.g. 8192"),
])
def test_bad_sizes(text, message):
    with pytest.raises(SconeError) as err:
        parse_size(text, what="--scone-heap", align=4096)
    assert str(err.value).startswith("--scone-heap: ")
    assert message in str(err.value)


def test_counts():
    assert parse_count("8", what="--scone-tcs") == 8
    for bad in ("0", "x", "-1", "2.0", ""):
        with pytest.raises(SconeError, match=r"^--scone-tcs: "):
            parse_count(bad, what="--scone-tcs")
