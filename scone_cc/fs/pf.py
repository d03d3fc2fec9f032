"""Gramine's encrypted-file format, version 2, in Python (FORMAT.md section 1).

Written from Gramine's ``Documentation/devel/encfiles.rst`` and its format
header, independently of the C library in ``runtime/shield/fs/``; the tests
make each read the other's files. Whole-file functions only: the host tool
encrypts and decrypts files at once, the enclave does random access in C.

Pure functions: bytes in, bytes out, no I/O.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, Mode

NODE = 4096
KEY = 16
MAC = 16
NONCE = 32
PATH_MAX_SIZE = 260 + 512          # bytes of the path field, NUL included
MD_DATA = 3072                     # file bytes carried in node 0
DATA_PER_MHT = 96
CHILD_PER_MHT = 32
FILE_ID = b"GRAFS_PF"              # the u64 0x46505f5346415247, little-endian
MAJOR, MINOR = 2, 0
FLAG_PENDING_WRITE = 0x01
METADATA_LABEL = b"SGX-PROTECTED-FS-METADATA-KEY"
LABEL_SIZE = 64

# node 0: plaintext header, then the encrypted part, then zero padding
PLAIN = struct.Struct("<8sBB32s16sB")              # 59 bytes
SECRET_HEAD = struct.Struct(f"<{PATH_MAX_SIZE}sQ16s16s")   # path, size, root key, root mac
SECRET_SIZE = SECRET_HEAD.size + MD_DATA           # 3884
PAD_OFF = PLAIN.size + SECRET_SIZE                 # 3943
ZERO_IV = bytes(12)

assert PLAIN.size == 59 and SECRET_SIZE == 3884 and PAD_OFF == 3943


class PFError(Exception):
    """A refusal. ``code`` is the same machine name the C library reports
    (sfs_status_name): "data_mac", "path", "truncated", ..."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def kdf(kdk: bytes, label: bytes, nonce: bytes) -> bytes:
    """SP800-108 counter-mode KDF with AES-128-CMAC, one block, as Gramine
    lays out its input: u32 counter=1 (LE), label NUL-padded to 64 bytes,
    32-byte nonce, u32 output bits=128 (LE) (FORMAT.md 1.3).

    The counter is little-endian, so it is the first byte (rlen=1) followed
    by three zero bytes that start the fixed input."""
    if len(label) >= LABEL_SIZE or len(nonce) != NONCE or len(kdk) != KEY:
        raise ValueError("kdf: bad label, nonce or key length")
    fixed = bytes(3) + label.ljust(LABEL_SIZE, b"\0") + nonce + struct.pack("<I", 128)
    return KBKDFCMAC(algorithms.AES, Mode.CounterMode, 16, 1, None,
                     CounterLocation.BeforeFixed, None, None, fixed).derive(kdk)


def data_physical(d: int) -> int:
    """Physical node of logical data node ``d`` (FORMAT.md 1.2)."""
    return d + 2 + d // DATA_PER_MHT


def mht_physical(m: int) -> int:
    """Physical node of logical MHT node ``m`` (0 = root, physical 1)."""
    return 1 + m * (1 + DATA_PER_MHT)


def data_nodes(size: int) -> int:
    return 0 if size <= MD_DATA else -(-(size - MD_DATA) // NODE)


def host_size(size: int) -> int:
    """Length of the backing file of a ``size``-byte file."""
    n = data_nodes(size)
    return NODE if n == 0 else (data_physical(n - 1) + 1) * NODE


def _seal(key: bytes, plain: bytes) -> tuple[bytes, bytes]:
    out = AESGCM(key).encrypt(ZERO_IV, plain, None)
    return out[:-MAC], out[-MAC:]


def _open(key: bytes, mac: bytes, ct: bytes, code: str, what: str) -> bytes:
    try:
        return AESGCM(key).decrypt(ZERO_IV, ct + mac, None)
    except InvalidTag:
        raise PFError(code, f"{what} fails its MAC") from None


@dataclass(frozen=True)
class Encrypted:
    data: bytes        # the whole backing file
    root_mac: bytes    # node 0's GCM tag: what a volume records
    size: int


def encrypt(plain: bytes, path: str, kdk: bytes, random=os.urandom) -> Encrypted:
    """Encrypt ``plain`` as a fresh file bound to ``path``.

    Random bytes are drawn in this order (known-answer tests rely on it):
    one key per data node in ascending order, one per MHT node from the
    highest logical number down, the root MHT key, then node 0's nonce."""
    pathb = path.encode()
    if b"\0" in pathb or len(pathb) >= PATH_MAX_SIZE:
        raise PFError("path_too_long", f"{path!r}: path too long or contains NUL")
    size = len(plain)
    n = data_nodes(size)
    nodes: dict[int, bytes] = {}
    mhts = [bytearray(NODE) for _ in range(-(-n // DATA_PER_MHT))]
    for d in range(n):
        chunk = plain[MD_DATA + d * NODE: MD_DATA + (d + 1) * NODE].ljust(NODE, b"\0")
        key = random(KEY)
        ct, mac = _seal(key, chunk)
        nodes[data_physical(d)] = ct
        slot = (d % DATA_PER_MHT) * 32
        mhts[d // DATA_PER_MHT][slot:slot + 32] = key + mac
    for m in range(len(mhts) - 1, 0, -1):        # children before parents
        key = random(KEY)
        ct, mac = _seal(key, bytes(mhts[m]))
        nodes[mht_physical(m)] = ct
        parent, slot = (m - 1) // CHILD_PER_MHT, DATA_PER_MHT * 32 + ((m - 1) % CHILD_PER_MHT) * 32
        mhts[parent][slot:slot + 32] = key + mac
    root_key = root_mac = bytes(KEY)
    if n:
        root_key = random(KEY)
        nodes[1], root_mac = _seal(root_key, bytes(mhts[0]))
    nonce = random(NONCE)
    secret = SECRET_HEAD.pack(pathb, size, root_key, root_mac) + plain[:MD_DATA].ljust(MD_DATA, b"\0")
    enc, md_mac = _seal(kdf(kdk, METADATA_LABEL, nonce), secret)
    node0 = PLAIN.pack(FILE_ID, MAJOR, MINOR, nonce, md_mac, 0) + enc
    out = bytearray(host_size(size))
    out[0:len(node0)] = node0
    for phys, ct in nodes.items():
        out[phys * NODE:(phys + 1) * NODE] = ct
    return Encrypted(bytes(out), md_mac, size)


@dataclass(frozen=True)
class Header:
    nonce: bytes
    md_mac: bytes
    flags: int
    major: int
    minor: int


def header(data: bytes) -> Header:
    """Node 0's plaintext header, checked (magic, version, flags, padding)."""
    if len(data) == 0:
        raise PFError("truncated", "empty file")
    if len(data) % NODE:
        raise PFError("host_size", f"length {len(data)} is not a multiple of {NODE}")
    magic, major, minor, nonce, mac, flags = PLAIN.unpack_from(data, 0)
    if magic != FILE_ID:
        raise PFError("not_pf", "no GRAFS_PF magic: not an encrypted file")
    if (major, minor) != (MAJOR, MINOR):
        raise PFError("version", f"version {major}.{minor}, only {MAJOR}.{MINOR} is supported")
    if flags & ~FLAG_PENDING_WRITE:
        raise PFError("flags", f"unknown feature flags {flags:#04x}")
    if flags & FLAG_PENDING_WRITE:
        raise PFError("pending", "has-pending-write flag set: needs Gramine's recovery")
    if any(data[PAD_OFF:NODE]):
        raise PFError("padding", "metadata node padding is not zero")
    return Header(nonce, mac, flags, major, minor)


def decrypt(data: bytes, path: str | None, kdk: bytes) -> Encrypted:
    """Check and decrypt a whole file; ``path`` None skips the path check.

    Every MAC is checked before its node's plaintext is used. Returns the
    plaintext in ``Encrypted.data``."""
    h = header(data)
    secret = _open(kdf(kdk, METADATA_LABEL, h.nonce), h.md_mac,
                   data[PLAIN.size:PAD_OFF], "meta_mac", "metadata node (tampered, or wrong key)")
    raw_path, size, root_key, root_mac = SECRET_HEAD.unpack_from(secret, 0)
    stored = raw_path.split(b"\0", 1)
    if len(stored) == 1:
        raise PFError("path", "stored path is not NUL-terminated")
    if path is not None and stored[0] != path.encode():
        raise PFError("path", f"file was written for path {stored[0].decode(errors='replace')!r}"
                              f", not {path!r} (swapped or renamed)")
    want = host_size(size)
    if len(data) < want:
        raise PFError("truncated", f"backing file has {len(data)} bytes, {want} expected")
    if len(data) > want:
        raise PFError("host_size", f"backing file has {len(data)} bytes, {want} expected")
    out = bytearray(secret[SECRET_HEAD.size:SECRET_HEAD.size + min(size, MD_DATA)])
    n = data_nodes(size)
    if n:
        mhts = {0: _open(root_key, root_mac, data[NODE:2 * NODE], "root_mac", "root MHT node")}
        for d in range(n):
            m = d // DATA_PER_MHT
            if m not in mhts:
                parent = mhts[(m - 1) // CHILD_PER_MHT]
                off = DATA_PER_MHT * 32 + ((m - 1) % CHILD_PER_MHT) * 32
                p = mht_physical(m) * NODE
                mhts[m] = _open(parent[off:off + 16], parent[off + 16:off + 32],
                                data[p:p + NODE], "mht_mac", f"MHT node {m}")
            off = (d % DATA_PER_MHT) * 32
            p = data_physical(d) * NODE
            plain = _open(mhts[m][off:off + 16], mhts[m][off + 16:off + 32],
                          data[p:p + NODE], "data_mac", f"data node {d}")
            out += plain[:min(NODE, size - MD_DATA - d * NODE)]
    return Encrypted(bytes(out), h.md_mac, size)
