"""SIGSTRUCT against the spec, the published SDK-key vectors and `cryptography` (sgx-spec §6)."""

import datetime
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from scone_cc.errors import SconeError
from scone_cc.sgx import sigstruct as sigs
from scone_cc.sgx.keys import load_private_key, signer_from_key

from .conftest import SDK_SAMPLE_MRSIGNER

HASH = bytes.fromhex("00112233445566778899aabbccddeeff" * 2)
DAY = datetime.date(2016, 1, 9)


def test_bcd_date():
    assert sigs.bcd_date(DAY) == 0x20160109
    raw = sigs.build(HASH, date=DAY)
    assert raw[20:24] == bytes.fromhex("09011620")          # the spec's example bytes
    assert sigs.date_from_bcd(0x20240229) == datetime.date(2024, 2, 29)
    for bad in (0x20230229, 0x2016010A, 0x20161301):
        with pytest.raises(SconeError):
            sigs.date_from_bcd(bad)
    for text in ("2023-02-29", "2023-13-01", "2023-1-1", "yesterday", "0999-01-01"):
        with pytest.raises(SconeError):
            sigs.parse_date(text)


def test_unsigned_fields():
    raw = sigs.build(HASH, debug=True, isvprodid=0x1234, isvsvn=7, date=DAY)
    assert len(raw) == 1808
    assert raw[0:16] == bytes.fromhex("06000000E10000000000010000000000")
    assert raw[16:20] == bytes(4)
    assert raw[24:40] == bytes.fromhex("01010000600000006000000001000000")
    assert struct.unpack_from("<I", raw, 512)[0] == 3
    flags, xfrm, fmask, xmask = struct.unpack_from("<QQQQ", raw, 928)
    assert flags == 0b110                                   # DEBUG | MODE64BIT, never INIT
    assert xfrm == 0x3 and fmask == 2**64 - 1
    assert xmask & 0x3 == 0x3 and not xmask & 0x4          # x87/SSE enforced, AVX free
    assert raw[960:992] == HASH
    # MISCSELECT at 900, MISCMASK at 904 (SDM Vol. 3D, SIGSTRUCT): EXINFO
    # (bit 0) asked for and left free, every other bit enforced zero.
    assert struct.unpack_from("<II", raw, 900) == (0x1, 0xFFFFFFFE)
    assert struct.unpack_from("<HH", raw, 1024) == (0x1234, 7)
    prod = sigs.build(HASH, debug=False, date=DAY)
    assert struct.unpack_from("<Q", prod, 928)[0] == 0b100
    assert sigs.signed_data(raw) == raw[:128] + raw[900:1028]
    with pytest.raises(SconeError):
        sigs.build(HASH, isvsvn=70000)


def test_published_rsa_vector_q1_q2(rsa_vector, sample_key):
    # rust-sgx's published S, Q1, Q2 for the SDK sample key (tests/sgx/data/README.md).
    key = load_pem_private_key(sample_key.read_bytes(), None)
    n = key.public_key().public_numbers().n
    s = int.from_bytes(rsa_vector["signature_le"], "little")
    q1, q2 = sigs.q1_q2(s, n)
    assert q1.to_bytes(384, "little") == rsa_vector["q1_le"]
    assert q2.to_bytes(384, "little") == rsa_vector["q2_le"]
    em = b"\x00\x01" + b"\xff" * 330 + b"\x00" + bytes.fromhex(
        "3031300d060960864801650304020105000420") + rsa_vector["sha256_of_data"]
    assert pow(s, 3, n) == int.from_bytes(em, "big")


def test_sign_with_sdk_sample_key(sample_key):
    key, warnings = load_private_key(sample_key)
    assert warnings == []
    signed = sigs.sign(sigs.build(HASH, date=DAY), signer_from_key(key))
    # MRSIGNER check value from sgx-spec §6.
    assert sigs.mrsigner(signed).hex() == SDK_SAMPLE_MRSIGNER
    assert hashlib.sha256(signed[128:512]).hexdigest() == SDK_SAMPLE_MRSIGNER
    n = int.from_bytes(signed[128:512], "little")
    s = int.from_bytes(signed[516:900], "little")
    q1 = int.from_bytes(signed[1040:1424], "little")
    q2 = int.from_bytes(signed[1424:1808], "little")
    # Q1/Q2 by plain integer arithmetic (§6).
    assert q1 == s * s // n
    assert q2 == (s * s * s - q1 * s * n) // n
    # The signature, back to big-endian, verifies with cryptography.
    key.public_key().verify(s.to_bytes(384, "big"), signed[:128] + signed[900:1028],
                            padding.PKCS1v15(), hashes.SHA256())
    assert sigs.verify(signed, mrenclave=HASH, secs_attributes=0x6, secs_xfrm=0x3,
                       secs_miscselect=0) == []


def _signed(sample_key):
    key, _ = load_private_key(sample_key)
    return sigs.sign(sigs.build(HASH, date=DAY), signer_from_key(key))


def test_verify_catches_every_tampered_region(sample_key):
    signed = _signed(sample_key)
    for at in list(range(0, 1808, 7)) + [1807]:
        bad = bytearray(signed)
        bad[at] ^= 0x01
        assert sigs.verify(bytes(bad)), f"flip at byte {at} went unnoticed"


def test_verify_names_the_problem(sample_key):
    signed = _signed(sample_key)

    def flip(at, value=None):
        bad = bytearray(signed)
        bad[at] = value if value is not None else bad[at] ^ 1
        return sigs.verify(bytes(bad))

    assert any("HEADER" in p.upper() for p in flip(5))
    assert any("VENDOR" in p for p in flip(16, 0x01))
    assert any("EXPONENT" in p for p in flip(512, 65))
    assert any("reserved" in p for p in flip(1030))
    assert any("Q1" in p for p in flip(1100))
    assert any("Q2" in p for p in flip(1500))
    assert any("does not verify" in p for p in flip(960))
    assert any("measurement" in p for p in sigs.verify(signed, mrenclave=bytes(32)))
    assert any("ATTRIBUTES" in p for p in sigs.verify(signed, secs_attributes=0x4))
    assert any("XFRM" in p for p in sigs.verify(signed, secs_xfrm=0x3 | 1 << 9))
    assert sigs.verify(signed, secs_xfrm=0x7) == []         # AVX may be enabled by the loader
    assert sigs.verify(signed[:-1]) == ["SIGSTRUCT is 1807 bytes, must be 1808"]


def test_attach_refuses_a_bad_signature(sample_key):
    key, _ = load_private_key(sample_key)
    body = sigs.build(HASH, date=DAY)
    n = key.public_key().public_numbers().n
    other = key.sign(b"other bytes", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SconeError, match="does not verify"):
        sigs.attach(body, other, n)
    with pytest.raises(SconeError, match="384"):
        sigs.attach(body, other[:-1], n)
