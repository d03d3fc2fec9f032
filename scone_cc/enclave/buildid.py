"""The Build ID of a scone binary: its own, not the starter's.

Every scone binary is the same starter with another enclave inside, so the
starter's NT_GNU_BUILD_ID would name them all alike, and debuginfod clients
and core-dump tools would take one program for another. The outer binary's
Build ID is rewritten in place (same length) to a hash of the starter's own
ID and the enclave image: it changes with the program's code, not with a
re-signing, and two builds of the same sources get the same ID. Stdlib only.
"""

from __future__ import annotations

import hashlib
import struct

from scone_cc.enclave import container

BUILD_ID_SECTION = ".note.gnu.build-id"
NT_GNU_BUILD_ID = 3


def locate(data: bytes, where: str) -> tuple[int, int] | None:
    """File range (offset, size) of the Build ID bytes of ``data``, or None."""
    rng = container.sections(data, where).get(BUILD_ID_SECTION)
    if rng is None or rng[1] < 16:
        return None
    off, size = rng
    namesz, descsz, ntype = struct.unpack_from("<III", data, off)
    if ntype != NT_GNU_BUILD_ID or namesz != 4 or data[off + 12:off + 16] != b"GNU\0" \
            or 16 + descsz > size or not descsz:
        return None
    return off + 16, descsz


def derive(starter_id: bytes, image: bytes) -> bytes:
    """The binary's Build ID: as long as the starter's (ld's sha1 style, 20 bytes)."""
    h = hashlib.sha256(b"scone build-id\0" + starter_id + hashlib.sha256(image).digest())
    return h.digest()[:len(starter_id)]


def stamp(data: bytes, starter: bytes, image: bytes, where: str) -> bytes:
    """``data`` (a final binary) with its Build ID derived from ``starter``'s and ``image``."""
    rng, srng = locate(data, where), locate(starter, "starter")
    if rng is None or srng is None or rng[1] != srng[1]:
        return data
    off, size = rng
    starter_id = starter[srng[0]:srng[0] + srng[1]]
    return data[:off] + derive(starter_id, image) + data[off + size:]
