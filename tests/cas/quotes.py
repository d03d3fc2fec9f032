"""An SGX ECDSA quote v3 assembled by hand from Intel's "SGX ECDSA Quote Library
Reference" field table, with a test PCK chain (root -> platform CA -> PCK)."""

import datetime as dt
import hashlib
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")


def _cert(subject, key, issuer=None, issuer_key=None, ca=True):
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer.subject if issuer else name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))


def _rs(key, msg):
    r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _body(mrenclave, mrsigner, prodid, svn, attributes, reportdata):
    b = bytearray(384)                     # SDM §38.15 offsets, by hand
    b[48:56] = struct.pack("<Q", attributes)
    b[64:96], b[128:160] = mrenclave, mrsigner
    b[256:260] = struct.pack("<HH", prodid, svn)
    b[320:384] = reportdata
    return bytes(b)


def make_pki():
    """(root key, root certificate, platform CA key, platform CA certificate) of a test PCK hierarchy."""
    root_k, inter_k = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    root = _cert("Test SGX Root CA", root_k)
    return root_k, root, inter_k, _cert("Test SGX PCK Platform CA", inter_k, root, root_k)


def assemble_quote(reportdata, *, mrenclave=b"\x11" * 32, attributes=0x5, tamper=None, pki=None):
    """A v3 quote per "SGX ECDSA Quote Library Reference": header 48, body 384, u32, signature data."""
    _, root, inter_k, inter = pki or make_pki()
    pck_k, att_k = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    pck = _cert("Test SGX PCK Certificate", pck_k, inter, inter_k, ca=False)
    header = struct.pack("<HHIHH16s20s", 3, 2, 0, 7, 13, INTEL_QE_VENDOR_ID, bytes(20))
    assert len(header) == 48
    isv = _body(mrenclave, b"\x22" * 32, 9, 4, attributes, reportdata)
    att_xy = att_k.public_key().public_numbers().x.to_bytes(32, "big") + \
        att_k.public_key().public_numbers().y.to_bytes(32, "big")
    auth = os.urandom(32)
    qe_body = _body(b"\x33" * 32, b"\x44" * 32, 1, 2, 0x5, hashlib.sha256(att_xy + auth).digest() + bytes(32))
    chain = b"".join(c.public_bytes(ser.Encoding.PEM) for c in (pck, inter, root))
    sig = (_rs(att_k, header + isv) + att_xy + qe_body + _rs(pck_k, qe_body)
           + struct.pack("<H", len(auth)) + auth + struct.pack("<HI", 5, len(chain)) + chain)
    quote = bytearray(header + isv + struct.pack("<I", len(sig)) + sig)
    if tamper is not None:
        quote[tamper] ^= 1
    return bytes(quote), root
