"""The two volume-metadata parsers agree on malformed bodies. Bodies are
sealed with the right key (so they pass the MAC) and then must be judged
by their structure alone: both accept, or both refuse with vol_format; the
C side runs under ASan and UBSan."""

import random
import struct

import pytest

from scone_cc.fs import volume as vol

from .conftest import run_tool

KEY = bytes(range(32, 48))


def sealed(body: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, check = vol._keys(KEY)
    head = vol.HEADER.pack(vol.MAGIC, vol.VERSION, 0, 0, 7, check, bytes(12), len(body))
    return head + AESGCM(key).encrypt(bytes(12), body, head)


def entry(path: bytes, kind=1, size=5, digest=bytes(16) + bytes(16), reserved=bytes(7)):
    return struct.pack("<H", len(path)) + path + struct.pack("<B7sQ32s", kind, reserved, size, digest)


def valid_body():
    return struct.pack("<I", 3) + entry(b"a") + entry(b"b/c", 2, 9, bytes(range(32))) + entry(b"z")


HAND = {
    "valid": (valid_body(), True),
    "empty": (struct.pack("<I", 0), True),
    "count too high": (struct.pack("<I", 4) + valid_body()[4:], False),
    "count too low": (struct.pack("<I", 2) + valid_body()[4:], False),
    "out of order": (struct.pack("<I", 2) + entry(b"b") + entry(b"a"), False),
    "duplicate": (struct.pack("<I", 2) + entry(b"a") + entry(b"a"), False),
    "prefix order ok": (struct.pack("<I", 2) + entry(b"a") + entry(b"a/b"), True),
    "dotdot": (struct.pack("<I", 1) + entry(b"../x"), False),
    "absolute": (struct.pack("<I", 1) + entry(b"/x"), False),
    "empty component": (struct.pack("<I", 1) + entry(b"a//b"), False),
    "reserved name": (struct.pack("<I", 1) + entry(b"d/.scone-volume"), False),
    "NUL in path": (struct.pack("<I", 1) + entry(b"a\0b"), False),
    "UTF-8 path": (struct.pack("<I", 1) + entry("é/日本".encode()), True),
    "bad UTF-8": (struct.pack("<I", 1) + entry(b"a\xfe"), False),
    "overlong UTF-8": (struct.pack("<I", 1) + entry(b"\xc0\xaf"), False),
    "surrogate": (struct.pack("<I", 1) + entry(b"\xed\xa0\x80"), False),
    "truncated UTF-8": (struct.pack("<I", 1) + entry(b"a\xe6\x97"), False),
    "empty path": (struct.pack("<I", 1) + entry(b""), False),
    "kind 3": (struct.pack("<I", 1) + entry(b"a", kind=3), False),
    "reserved byte": (struct.pack("<I", 1) + entry(b"a", reserved=b"\0\0\1\0\0\0\0"), False),
    "encrypted digest tail": (struct.pack("<I", 1) + entry(b"a", digest=bytes(31) + b"\1"), False),
    "trailing byte": (valid_body() + b"\0", False),
    "short": (b"\0\0\0", False),
}


def verdict_c(tool, tmp_path, data):
    d = tmp_path / "v"
    d.mkdir(exist_ok=True)
    (d / vol.META_NAME).write_bytes(data)
    r = run_tool(tool, "vol-verify", KEY.hex(), d)
    assert r.returncode in (0, 1), r.stderr
    first = r.stderr.splitlines()[0].split(": ") if r.stderr else ["", "ok"]
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr
    return first[1] != "vol_format" if first[0] == vol.META_NAME else True


def verdict_py(data):
    try:
        vol.unseal(data, KEY)
        return True
    except vol.VolumeError as err:
        assert err.code == "vol_format", err.code
        return False


@pytest.mark.parametrize("case", list(HAND))
def test_hand_made_bodies(case, sfs_tool, tmp_path):
    body, ok = HAND[case]
    data = sealed(body)
    assert verdict_py(data) == ok
    assert verdict_c(sfs_tool, tmp_path, data) == ok


def test_mutated_bodies_agree(sfs_tool, tmp_path):
    rng = random.Random(77)
    base = valid_body()
    outcomes = set()
    for _ in range(60):
        b = bytearray(base)
        for _ in range(rng.randrange(1, 4)):
            op = rng.random()
            if op < 0.6 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op < 0.8 and b:
                del b[rng.randrange(len(b))]
            else:
                b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        data = sealed(bytes(b))
        v = verdict_py(data)
        assert verdict_c(sfs_tool, tmp_path, data) == v, bytes(b).hex()
        outcomes.add(v)
    assert outcomes == {True, False}
