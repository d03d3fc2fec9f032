"""Known-answer vectors for Gramine's encrypted-file format, version 2, built
here step by step from encfiles.rst and protected_files_format.h with bare
primitives (CMAC, AES-GCM) — a third path, independent of both
scone_cc/fs/pf.py (which derives keys with KBKDFCMAC) and the C library.
Both implementations, fed the same "random" bytes, must produce exactly
these files, and read them back."""

import struct

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.cmac import CMAC

from scone_cc.fs import pf

from .conftest import run_tool

KDK = bytes(range(16))
PATH = "dir/kat.bin"


def hand_kdf(kdk, nonce):
    # kdf_input_t: u32 counter = 1, char label[64] NUL-terminated,
    # nonce[32], u32 output_len = 128 bits; packed, little-endian.
    msg = (struct.pack("<I", 1) + b"SGX-PROTECTED-FS-METADATA-KEY".ljust(64, b"\0") + nonce
           + struct.pack("<I", 0x80))
    assert len(msg) == 104
    c = CMAC(algorithms.AES(kdk))
    c.update(msg)
    return c.finalize()


def gcm(key, plain):
    out = AESGCM(key).encrypt(bytes(12), plain, None)   # all-zero IV, no AAD
    return out[:-16], out[-16:]


def hand_file(plain: bytes, data_key: bytes, root_key: bytes, nonce: bytes) -> bytes:
    """At most one data node: node 0 [| root MHT | data node 0]."""
    assert len(plain) <= 3072 + 4096
    nodes = []
    root_mac = bytes(16)
    rk = bytes(16)
    if len(plain) > 3072:
        data_ct, data_mac = gcm(data_key, plain[3072:].ljust(4096, b"\0"))
        mht = (data_key + data_mac).ljust(4096, b"\0")       # slot 0 of 96 data pairs
        root_ct, root_mac = gcm(root_key, mht)
        rk = root_key
        nodes = [root_ct, data_ct]                            # physical 1, 2
    # metadata_decrypted_t: path[772], u64 size, root key, root mac, data[3072]
    secret = (PATH.encode().ljust(772, b"\0") + struct.pack("<Q", len(plain)) + rk + root_mac
              + plain[:3072].ljust(3072, b"\0"))
    assert len(secret) == 3884
    enc, mac = gcm(hand_kdf(KDK, nonce), secret)
    # metadata_plaintext_t: u64 file_id, u8 major, u8 minor, nonce[32], mac[16], u8 flags
    head = struct.pack("<Q", 0x46505F5346415247) + bytes([2, 0]) + nonce + mac + b"\0"
    assert head[:8] == b"GRAFS_PF" and len(head) == 59
    node0 = (head + enc).ljust(4096, b"\0")                   # padding 3943..4095 zero
    return node0 + b"".join(nodes)


CASES = [
    ("empty", b""),
    ("small", b"hello, enclave\n"),
    ("full-md", bytes((i * 7) & 0xFF for i in range(3072))),
    ("one-node", bytes((i * 13 + 5) & 0xFF for i in range(3072 + 100))),
]


@pytest.mark.parametrize("name,plain", CASES, ids=[c[0] for c in CASES])
def test_python_writes_the_known_answer(name, plain):
    dk, rk, nonce = bytes([0xD0] * 16), bytes([0xE1] * 16), bytes(range(100, 132))
    want = hand_file(plain, dk, rk, nonce)
    stream = iter([dk, rk, nonce] if len(plain) > 3072 else [nonce])
    got = pf.encrypt(plain, PATH, KDK, random=lambda n: next(stream))
    assert got.data == want
    assert got.root_mac == want[42:58]
    assert pf.decrypt(want, PATH, KDK).data == plain


@pytest.mark.parametrize("name,plain", CASES, ids=[c[0] for c in CASES])
def test_c_writes_and_reads_the_known_answer(name, plain, sfs_tool, tmp_path):
    dk, rk, nonce = bytes([0xD0] * 16), bytes([0xE1] * 16), bytes(range(100, 132))
    want = hand_file(plain, dk, rk, nonce)
    (tmp_path / "plain").write_bytes(plain)
    # sfs_file_open(CREATE) writes node 0 at once (one nonce), as Gramine does;
    # close then draws the data key, the root key and the final nonce (an
    # empty file is not rewritten: its first nonce is the final one).
    rnd = tmp_path / "random"
    first = b"" if not plain else bytes([0xAA] * 32)
    rnd.write_bytes(first + (dk + rk if len(plain) > 3072 else b"") + nonce)
    r = run_tool(sfs_tool, "enc", KDK.hex(), PATH, tmp_path / "plain", tmp_path / "enc",
                 random_file=rnd)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "enc").read_bytes() == want
    assert r.stdout.split() == [want[42:58].hex(), str(len(plain))]
    (tmp_path / "kat").write_bytes(want)
    r = run_tool(sfs_tool, "dec", KDK.hex(), PATH, tmp_path / "kat", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out").read_bytes() == plain


def test_kdf_matches_bare_cmac():
    for nonce in (bytes(32), bytes(range(32)), bytes([0xFF] * 32)):
        assert pf.kdf(KDK, pf.METADATA_LABEL, nonce) == hand_kdf(KDK, nonce)


def test_node_numbering_from_the_spec():
    # encfiles.rst: node 0 metadata, 1 root MHT, 2..97 data, 98 MHT, 99.. data
    assert [pf.data_physical(d) for d in (0, 95, 96, 191, 192)] == [2, 97, 99, 194, 196]
    assert [pf.mht_physical(m) for m in (0, 1, 2)] == [1, 98, 195]
    sizes = {0: 1, 3072: 1, 3073: 3, 3072 + 96 * 4096: 98, 3072 + 96 * 4096 + 1: 100}
    assert {s: pf.host_size(s) // 4096 for s in sizes} == sizes
