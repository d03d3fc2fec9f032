"""The file-system shield's regions: a signed parameter (DESIGN.md §4, §8).

A region is (prefix, mode, key source). ``parse`` reads the command-line form
``PREFIX:MODE[:KEYSRC]``, ``parse_tag`` a volume's expected tag
``PREFIX:HEX64`` (``--scone-fs-tag``, ``scone-sign sign --fs-tag``); ``encode`` gives the bytes the layout writes into
the measured config page at ``abi.CONFIG_FS_OFFSET`` (enclave_abi.h,
"file-system policy"), so the policy is part of MRENCLAVE and the host
cannot turn a region off; ``decode`` reads them back for ``scone-sign``.

Pure, stdlib only.
"""

from __future__ import annotations

import struct

from scone_cc.enclave import abi
from scone_cc.errors import SconeError

MODES = ("unprotected", "ephemeral", "authenticated", "encrypted")   # SCONE_FS_MODE_*: 0..3
KEY_SOURCES = ("sealed-mrenclave", "sealed-mrsigner", "cas")         # SCONE_FS_KEY_*: 0..2

Region = tuple  # (prefix: str, mode: str, key_source: str)
TAG_FLAG = 0x80  # in the key-source byte: the volume's 32-byte expected tag follows the prefix
TAGGED_MODES = ("authenticated", "encrypted")


def normalize_prefix(text: str, what: str) -> str:
    """An absolute path without '.', '..', empty components or a trailing '/'."""
    if not text.startswith("/"):
        raise SconeError(f"{what}: prefix {text!r} is not an absolute path; use e.g. /data")
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise SconeError(f"{what}: prefix {text!r} has '.' or '..'; give the path itself")
    if "\0" in text:
        raise SconeError(f"{what}: prefix has a NUL byte")
    return "/" + "/".join(parts)


def parse(text: str, what: str = "--scone-fs") -> Region:
    """``PREFIX:MODE[:KEYSRC]`` -> (prefix, mode, key source)."""
    words = text.rsplit(":", 2)
    if len(words) == 3 and words[2] not in KEY_SOURCES and words[1] in KEY_SOURCES + MODES:
        words = [words[0] + ":" + words[1], words[2]]   # a prefix with ':' in it
    if len(words) == 3 and words[1] in MODES:
        prefix, mode, key = words
    elif len(words) >= 2 and words[-1] in MODES:
        prefix, mode, key = ":".join(words[:-1]), words[-1], KEY_SOURCES[0]
    else:
        raise SconeError(f"{what}={text!r}: expected PREFIX:MODE[:KEYSRC], MODE one of "
                         f"{', '.join(MODES)}, KEYSRC one of {', '.join(KEY_SOURCES)}")
    if key not in KEY_SOURCES:
        raise SconeError(f"{what}={text!r}: key source {key!r} is not one of {', '.join(KEY_SOURCES)}")
    return (normalize_prefix(prefix, what), mode, key)


def parse_tag(text: str, what: str = "--scone-fs-tag") -> tuple[str, bytes]:
    """``PREFIX:HEX64`` -> (prefix, 32-byte tag): a volume's expected tag."""
    prefix, sep, tag = text.rpartition(":")
    try:
        raw = bytes.fromhex(tag) if sep else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SconeError(f"{what}={text!r}: expected PREFIX:TAG, TAG the 64 hex digits "
                         "`scone-fs tag VOLUME` prints")
    return normalize_prefix(prefix, what), raw


def merge_tags(regions, tags, what: str = "--scone-fs-tag") -> tuple[tuple[str, bytes], ...]:
    """Tags in prefix order; each names an encrypted or authenticated region once."""
    modes = {p: m for p, m, _ in regions}
    seen = {}
    for prefix, tag in tags:
        if modes.get(prefix) not in TAGGED_MODES:
            raise SconeError(f"{what}: {prefix} is not an encrypted or authenticated region "
                             "of this policy; give the region with --scone-fs (scone-sign: --fs) too")
        if seen.get(prefix, tag) != tag:
            raise SconeError(f"{what}: {prefix} given two different tags")
        seen[prefix] = tag
    return tuple(sorted(seen.items()))


def merge(regions, what: str = "--scone-fs") -> tuple[Region, ...]:
    """Regions in a canonical order (by prefix); one prefix given twice is refused."""
    seen = {}
    for prefix, mode, key in regions:
        if prefix in seen and seen[prefix] != (mode, key):
            raise SconeError(f"{what}: prefix {prefix} given twice with different modes")
        seen[prefix] = (mode, key)
    out = tuple((p, m, k) for p, (m, k) in sorted(seen.items()))
    encode(out)   # refuse a policy that does not fit now, not at layout time
    return out


def encode(regions, tags=()) -> bytes:
    """The policy block (enclave_abi.h): u32 count, then per region u8 mode,
    u8 key source (| TAG_FLAG when a tag follows), u16 prefix length, the
    prefix bytes (no NUL) and, with TAG_FLAG, the volume's 32-byte tag."""
    tag_of = dict(tags)
    out = bytearray(struct.pack("<I", len(regions)))
    for prefix, mode, key in regions:
        raw = prefix.encode()
        tag = tag_of.get(prefix, b"")
        flag = TAG_FLAG if tag else 0
        out += struct.pack("<BBH", MODES.index(mode), KEY_SOURCES.index(key) | flag, len(raw)) + raw + tag
    if len(out) > abi.CONFIG_FS_SIZE:
        raise SconeError(f"file-system policy: {len(out)} bytes do not fit the config page's "
                         f"{abi.CONFIG_FS_SIZE}; use fewer or shorter prefixes")
    return bytes(out)


def decode(block: bytes, where: str) -> tuple[Region, ...]:
    """Read the policy block back; SconeError on a malformed one."""
    regions, pos = decode_block(block, where)
    if any(block[pos:]):
        raise SconeError(f"{where}: bytes after the file-system policy are not zero")
    return regions


def decode_block(block: bytes, where: str) -> tuple[tuple[Region, ...], int]:
    """The regions and where the block ends (the network policy follows)."""
    regions, _, pos = decode_block_tags(block, where)
    return regions, pos


def decode_block_tags(block: bytes, where: str):
    """The regions, the volumes' expected tags ((prefix, tag), ...) and where
    the block ends."""
    if not any(block):
        return (), (), len(block)
    try:
        (count,), pos, regions, tags = struct.unpack_from("<I", block), 4, [], []
        for _ in range(count):
            mode, key, n = struct.unpack_from("<BBH", block, pos)
            prefix = bytes(block[pos + 4:pos + 4 + n]).decode()
            if len(prefix.encode()) != n:
                raise ValueError
            pos += 4 + n
            if key & TAG_FLAG:
                tag = bytes(block[pos:pos + 32])
                if len(tag) != 32 or MODES[mode] not in TAGGED_MODES:
                    raise ValueError
                tags.append((prefix, tag))
                pos += 32
            regions.append((prefix, MODES[mode], KEY_SOURCES[key & ~TAG_FLAG]))
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):
        raise SconeError(f"{where}: the config page's file-system policy is malformed; "
                         "the binary is damaged, rebuild it") from None
    return tuple(regions), tuple(tags), pos
