"""A volume metadata file assembled here byte by byte from FORMAT.md section
2 with bare primitives (CMAC, AES-GCM, SHA-256): the C library and
scone_cc/fs/volume.py, given the same nonce, write exactly it, and both
read it."""

import hashlib
import struct

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.cmac import CMAC

from scone_cc.fs import volume as vol

from .conftest import run_tool

VKEY = bytes.fromhex("5c0e5c0e5c0e5c0e5c0e5c0e5c0e5c0e")
NONCE = bytes(range(200, 212))
CONTENT = b"pinned, not secret\n"


def kdf(label: bytes) -> bytes:
    c = CMAC(algorithms.AES(VKEY))
    c.update(struct.pack("<I", 1) + label.ljust(64, b"\0") + bytes(32) + struct.pack("<I", 128))
    return c.finalize()


def hand_metadata(counter: int, path: bytes = b"conf/app.txt") -> bytes:
    body = (struct.pack("<I", 1) + struct.pack("<H", len(path)) + path + bytes([2]) + bytes(7)
            + struct.pack("<Q", len(CONTENT)) + hashlib.sha256(CONTENT).digest())
    head = (b"SCONEVOL" + struct.pack("<HHIQ", 1, 0, 0, counter)
            + kdf(b"SCONE-VOLUME-KEY-CHECK") + NONCE + struct.pack("<I", len(body)))
    assert len(head) == 56
    return head + AESGCM(kdf(b"SCONE-VOLUME-METADATA-KEY")).encrypt(NONCE, body, head)


def test_python_writes_the_known_answer():
    e = vol.Entry("conf/app.txt", vol.AUTHENTICATED, len(CONTENT), hashlib.sha256(CONTENT).digest())
    assert vol.seal({e.path: e}, VKEY, 1, random=lambda n: NONCE) == hand_metadata(1)
    meta = vol.unseal(hand_metadata(5), VKEY)
    assert meta.counter == 5 and meta.entries == {e.path: e}
    assert meta.tag == hashlib.sha256(hand_metadata(5)).digest()


def test_c_writes_the_known_answer(sfs_tool, tmp_path):
    root = tmp_path / "v"
    root.mkdir()
    (root / "conf").mkdir()
    (tmp_path / "plain").write_bytes(CONTENT)
    rnd = tmp_path / "random"
    rnd.write_bytes(NONCE)
    r = run_tool(sfs_tool, "vol-add", VKEY.hex(), root / "conf", "app.txt", tmp_path / "plain",
                 "authenticated", random_file=rnd)
    # the C harness adds top-level names: its volume root is conf/, so the
    # recorded path is app.txt
    assert r.returncode == 0, r.stderr
    got = (root / "conf" / vol.META_NAME).read_bytes()
    assert got == hand_metadata(1, b"app.txt")
    assert r.stdout.strip() == hashlib.sha256(got).hexdigest()


def test_c_reads_the_known_answer(sfs_tool, tmp_path):
    root = tmp_path / "v"
    (root / "conf").mkdir(parents=True)
    (root / vol.META_NAME).write_bytes(hand_metadata(9))
    (root / "conf" / "app.txt").write_bytes(CONTENT)
    tag = hashlib.sha256(hand_metadata(9)).hexdigest()
    r = run_tool(sfs_tool, "vol-verify", VKEY.hex(), root, tag)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ok", "1", tag]
    (root / "conf" / "app.txt").write_bytes(CONTENT.upper())
    r = run_tool(sfs_tool, "vol-verify", VKEY.hex(), root, tag)
    assert r.returncode == 1 and r.stderr.startswith("conf/app.txt: auth_hash: ")
