"""EINIT played in C, against SIGSTRUCTs built here with `cryptography` and
plain integer arithmetic from the sgx-spec.md §6 table."""

import hashlib
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

OK, SIG_STRUCT, ATTRIBUTE, MEASUREMENT, SIGNATURE = 0, 1, 2, 4, 8
DEBUG, MODE64, KSS = 0x2, 0x4, 0x80
MRENCLAVE = hashlib.sha256(b"an enclave").digest()


@pytest.fixture(scope="session")
def key():
    return rsa.generate_private_key(public_exponent=3, key_size=3072)


def le(n: int) -> bytes:
    return n.to_bytes(384, "little")


def body(**kw) -> bytearray:
    """The signed fields, default values typical of a debug scone enclave."""
    f = dict(vendor=0, date=0x20261128, swdefined=0, misc=0, miscmask=0xFFFFFFFF,
             cet=0, cetmask=0, familyid=bytes(16), attrs=DEBUG | MODE64, xfrm=0x3,
             attrmask=0xFFFFFFFFFFFFFFFF, xfrmmask=0xFFFFFFFFFFFFFFFF, hash=MRENCLAVE,
             extprodid=bytes(16), prodid=7, svn=3)
    f.update(kw)
    s = bytearray(1808)
    s[0:16] = bytes.fromhex("06000000e10000000000010000000000")
    struct.pack_into("<II", s, 16, f["vendor"], f["date"])
    s[24:40] = bytes.fromhex("01010000600000006000000001000000")
    struct.pack_into("<I", s, 40, f["swdefined"])
    struct.pack_into("<IIBB", s, 900, f["misc"], f["miscmask"], f["cet"], f["cetmask"])
    s[912:928] = f["familyid"]
    struct.pack_into("<QQQQ", s, 928, f["attrs"], f["xfrm"], f["attrmask"], f["xfrmmask"])
    s[960:992] = f["hash"]
    s[1008:1024] = f["extprodid"]
    struct.pack_into("<HH", s, 1024, f["prodid"], f["svn"])
    return s


def sign(key, s: bytearray) -> bytes:
    """RSA-3072 PKCS#1 v1.5 SHA-256 over sig[0:128] || sig[900:1028], then Q1/Q2."""
    s = bytearray(s)
    n = key.public_key().public_numbers().n
    sig = int.from_bytes(key.sign(bytes(s[0:128] + s[900:1028]), padding.PKCS1v15(), hashes.SHA256()), "big")
    q1 = sig * sig // n
    q2 = (sig ** 3 - q1 * sig * n) // n
    s[128:512] = le(n)
    struct.pack_into("<I", s, 512, 3)
    s[516:900] = le(sig)
    s[1040:1424] = le(q1)
    s[1424:1808] = le(q2)
    return bytes(s)


def flip(s: bytes, off: int, mask: int = 0x01) -> bytes:
    b = bytearray(s)
    b[off] ^= mask
    return bytes(b)


@pytest.fixture(scope="session")
def good(key):
    return sign(key, body())


def test_correct_sigstruct_passes_and_reports_mrsigner(lib, key, good):
    rc, signer, why = lib.einit(good, MRENCLAVE, DEBUG | MODE64, 0x3, 0)
    assert (rc, why) == (OK, "")
    n = key.public_key().public_numbers().n
    assert signer == hashlib.sha256(le(n)).digest()


def test_q1_q2_by_the_spec_formula(key, good):
    # Sanity of this test's own builder: the spec's second formula gives the same Q2.
    n = key.public_key().public_numbers().n
    s = int.from_bytes(good[516:900], "little")
    assert int.from_bytes(good[1424:1808], "little") == ((s * s % n) * s) // n


@pytest.mark.parametrize("off,name", [
    (0, "HEADER"), (12, "HEADER"), (15, "HEADER"), (24, "HEADER2"), (39, "HEADER2"),
    (512, "EXPONENT"), (515, "EXPONENT"), (16, "VENDOR"), (19, "VENDOR"),
    (44, "reserved"), (127, "reserved"), (910, "reserved"), (911, "reserved"),
    (992, "reserved"), (1007, "reserved"), (1028, "reserved"), (1039, "reserved"),
])
def test_structure_corruption_is_invalid_sig_struct(lib, good, off, name):
    rc, _, why = lib.einit(flip(good, off), MRENCLAVE, DEBUG | MODE64, 0x3, 0)
    assert rc == SIG_STRUCT, why
    assert name in why


@pytest.mark.parametrize("off", [128, 300, 511, 516, 700, 899, 1040, 1423, 1424, 1807])
def test_key_signature_q1_q2_corruption_is_invalid_signature(lib, good, off):
    rc, _, why = lib.einit(flip(good, off), MRENCLAVE, DEBUG | MODE64, 0x3, 0)
    assert rc == SIGNATURE, why
    assert "signature" in why


@pytest.mark.parametrize("off", [20, 40, 900, 904, 908, 909, 912, 928, 936, 944, 952, 960, 991, 1008, 1024, 1026])
def test_signed_field_corruption_is_invalid_signature(lib, good, off):
    rc, _, why = lib.einit(flip(good, off), MRENCLAVE, DEBUG | MODE64, 0x3, 0)
    assert rc == SIGNATURE, why


def test_q_messages_name_the_failing_quotient(lib, good):
    assert "Q1" in lib.einit(flip(good, 1040), MRENCLAVE, DEBUG | MODE64, 0x3, 0)[2]
    assert "Q2" in lib.einit(flip(good, 1424), MRENCLAVE, DEBUG | MODE64, 0x3, 0)[2]


def test_structure_checked_before_signature(lib, good):
    bad = flip(flip(good, 600), 0)
    assert lib.einit(bad, MRENCLAVE, DEBUG | MODE64, 0x3, 0)[0] == SIG_STRUCT


def test_intel_vendor_is_accepted(lib, key):
    s = sign(key, body(vendor=0x8086))
    assert lib.einit(s, MRENCLAVE, DEBUG | MODE64, 0x3, 0)[0] == OK


def test_other_measured_enclave_is_invalid_measurement(lib, good):
    other = hashlib.sha256(b"another enclave").digest()
    rc, _, why = lib.einit(good, other, DEBUG | MODE64, 0x3, 0)
    assert rc == MEASUREMENT
    assert MRENCLAVE.hex() in why and other.hex() in why
    assert "modified after signing" in why


def test_signature_checked_before_measurement(lib, good):
    assert lib.einit(flip(good, 600), bytes(32), DEBUG | MODE64, 0x3, 0)[0] == SIGNATURE


def test_isvfamilyid_needs_kss(lib, key):
    s = sign(key, body(familyid=b"\x01" + bytes(15)))
    assert lib.einit(s, MRENCLAVE, DEBUG | MODE64, 0x3, 0)[0] == SIG_STRUCT
    s = sign(key, body(familyid=b"\x01" + bytes(15), attrs=DEBUG | MODE64 | KSS))
    assert lib.einit(s, MRENCLAVE, DEBUG | MODE64 | KSS, 0x3, 0)[0] == OK


def test_isvfamilyid_checked_before_measurement(lib, key):
    s = sign(key, body(familyid=b"\x01" + bytes(15)))
    assert lib.einit(s, bytes(32), DEBUG | MODE64, 0x3, 0)[0] == SIG_STRUCT


def test_measurement_checked_before_attributes(lib, good):
    assert lib.einit(good, bytes(32), MODE64, 0x3, 0)[0] == MEASUREMENT


@pytest.mark.parametrize("secs_attrs,secs_xfrm,misc,fields,expect", [
    # flags: DEBUG differs, masked -> refused; unmasked -> fine
    (MODE64, 0x3, 0, {}, ATTRIBUTE),
    (MODE64, 0x3, 0, dict(attrmask=~DEBUG & (2**64 - 1)), OK),
    (DEBUG | MODE64 | 0x10, 0x3, 0, {}, ATTRIBUTE),
    # xfrm: AVX enabled by the loader, mask requires legacy only
    (DEBUG | MODE64, 0x7, 0, {}, ATTRIBUTE),
    (DEBUG | MODE64, 0x7, 0, dict(xfrmmask=0x3), OK),
    (DEBUG | MODE64, 0x2, 0, dict(xfrmmask=0x3), ATTRIBUTE),
    # miscselect
    (DEBUG | MODE64, 0x3, 1, {}, ATTRIBUTE),
    (DEBUG | MODE64, 0x3, 1, dict(miscmask=0xFFFFFFFE), OK),
    (DEBUG | MODE64, 0x3, 1, dict(misc=1), OK),
    # CET: SECS has none, so a masked requirement cannot be met
    (DEBUG | MODE64, 0x3, 0, dict(cet=1, cetmask=1), ATTRIBUTE),
    (DEBUG | MODE64, 0x3, 0, dict(cet=1, cetmask=0), OK),
    # INIT set in SIGSTRUCT while masked can never match a SECS (INIT is 0 there)
    (DEBUG | MODE64, 0x3, 0, dict(attrs=DEBUG | MODE64 | 1), ATTRIBUTE),
    # all masks zero (the Linux selftest's choice): anything goes
    (MODE64 | 0x10, 0xE7, 1, dict(attrmask=0, xfrmmask=0, miscmask=0), OK),
])
def test_attributes_under_masks(lib, key, secs_attrs, secs_xfrm, misc, fields, expect):
    s = sign(key, body(**fields))
    rc, _, why = lib.einit(s, MRENCLAVE, secs_attrs, secs_xfrm, misc)
    assert rc == expect, why
    if expect == ATTRIBUTE:
        assert why and "re-sign" in why


def test_attribute_message_names_the_bit(lib, good):
    why = lib.einit(good, MRENCLAVE, MODE64, 0x3, 0)[2]
    assert "DEBUG" in why and "ATTRIBUTEMASK" in why


def test_zero_modulus_is_refused_not_crashed(lib, good):
    b = bytearray(good)
    b[128:512] = bytes(384)
    assert lib.einit(bytes(b), MRENCLAVE, DEBUG | MODE64, 0x3, 0)[0] == SIGNATURE


def test_code_names(lib):
    names = {c: lib.c.sgx_einit_code_name(c).decode() for c in (OK, SIG_STRUCT, ATTRIBUTE, MEASUREMENT, SIGNATURE)}
    assert names == {0: "SGX_SUCCESS", 1: "SGX_INVALID_SIG_STRUCT", 2: "SGX_INVALID_ATTRIBUTE",
                     4: "SGX_INVALID_MEASUREMENT", 8: "SGX_INVALID_SIGNATURE"}
