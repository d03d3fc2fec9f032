"""SGX ECDSA quote version 3 (DCAP): parse and check what needs no Intel collateral.

Layout from Intel's "SGX ECDSA Quote Library Reference" (quote format,
version 3): a 48-byte header, the 384-byte ISV enclave report body, a u32
signature-data length, then the ECDSA-256 quote signature data:

=======  ====  ========================================================
offset   size  field (offsets within the signature data)
=======  ====  ========================================================
0        64    ISV enclave report signature, r || s (big-endian)
64       64    ECDSA attestation key, raw X || Y
128      384   QE report body
512      64    QE report signature, r || s
576      2     QE authentication data size N, then N bytes
578+N    2     QE certification data type (5: PCK certificate chain, PEM)
580+N    4     QE certification data size M, then M bytes
=======  ====  ========================================================

``verify`` checks: the version and key type, the ISV report signature by the
attestation key over header || report body, the QE report binding the
attestation key (REPORTDATA = SHA-256(key || QE auth data) || 32 zero
bytes), the QE report signature by the PCK certificate's key, and that the
PCK chain is signed link by link up to a root that must equal ``root`` (the
Intel SGX Root CA). Without ``root`` anyone can make a chain that verifies:
the CAS and the RA-TLS verifier refuse DCAP evidence when they have none. What it cannot check without Intel's
collateral (TCB info, QE identity, CRLs from the PCS/PCCS) it does not
pretend to: ``Quote.collateral_note`` says so.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import ClassVar

from scone_cc.cas.report import REPORT_BODY_SIZE, ReportBody
from scone_cc.cas.sim import EvidenceError
from scone_cc.sgx.structs import Field, _Struct

HEADER_SIZE = 48
ATT_KEY_ECDSA_P256 = 2
CERT_PCK_CHAIN = 5
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
COLLATERAL_NOTE = ("PCK chain checked link by link; TCB status, QE identity and revocation need "
                   "Intel's collateral (PCS/PCCS), which this CAS does not fetch")


@dataclass(frozen=True)
class QuoteHeader(_Struct):
    """sgx_quote_header_t: version 3, attestation key type 2 (ECDSA-256 P-256)."""

    NAME: ClassVar[str] = "quote header"
    SIZE: ClassVar[int] = HEADER_SIZE
    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("version", 0, 2),
        Field("att_key_type", 2, 2),
        Field("att_key_data_0", 4, 4),
        Field("qe_svn", 8, 2),
        Field("pce_svn", 10, 2),
        Field("qe_vendor_id", 12, 16, "b"),
        Field("user_data", 28, 20, "b"),
    )

    version: int = 3
    att_key_type: int = ATT_KEY_ECDSA_P256
    att_key_data_0: int = 0
    qe_svn: int = 0
    pce_svn: int = 0
    qe_vendor_id: bytes = INTEL_QE_VENDOR_ID
    user_data: bytes = bytes(20)


@dataclass(frozen=True)
class Quote:
    header: QuoteHeader
    report: ReportBody
    isv_signature: bytes
    attestation_key: bytes
    qe_report: ReportBody
    qe_signature: bytes
    qe_auth_data: bytes
    cert_type: int
    cert_data: bytes
    signed: bytes        # header || ISV report body: what isv_signature covers
    qe_report_raw: bytes


def parse(data: bytes) -> Quote:
    """Split a v3 ECDSA quote into its parts; EvidenceError names what is wrong and where."""
    data = bytes(data)
    need = HEADER_SIZE + REPORT_BODY_SIZE + 4
    if len(data) < need:
        raise EvidenceError(f"DCAP quote: {len(data)} bytes, shorter than header + report body + length ({need})")
    header = QuoteHeader.unpack(data[:HEADER_SIZE])
    if header.version != 3:
        raise EvidenceError(f"DCAP quote: version {header.version}, only version 3 is understood")
    if header.att_key_type != ATT_KEY_ECDSA_P256:
        raise EvidenceError(f"DCAP quote: attestation key type {header.att_key_type}, only 2 (ECDSA-256 "
                            "with P-256) is understood")
    body_end = HEADER_SIZE + REPORT_BODY_SIZE
    report = ReportBody.unpack(data[HEADER_SIZE:body_end], strict=False)
    (sig_len,) = struct.unpack_from("<I", data, body_end)
    sig = data[body_end + 4:]
    if len(sig) != sig_len:
        raise EvidenceError(f"DCAP quote: signature data length field says {sig_len}, {len(sig)} bytes follow")
    if len(sig) < 576 + 2:
        raise EvidenceError(f"DCAP quote: signature data of {len(sig)} bytes is too short (at least 578)")
    (auth_len,) = struct.unpack_from("<H", sig, 576)
    at = 578 + auth_len
    if len(sig) < at + 6:
        raise EvidenceError(f"DCAP quote: QE authentication data ({auth_len} bytes) runs past the end")
    cert_type, cert_len = struct.unpack_from("<HI", sig, at)
    if len(sig) != at + 6 + cert_len:
        raise EvidenceError(f"DCAP quote: certification data size {cert_len} does not match the "
                            f"{len(sig) - at - 6} bytes left")
    return Quote(header, report, sig[0:64], sig[64:128], ReportBody.unpack(sig[128:512], strict=False),
                 sig[512:576], sig[578:at], cert_type, sig[at + 6:], data[:body_end], sig[128:512])


def _ecdsa_ok(pub, rs: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        pub.verify(encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big")),
                   message, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def pck_chain(quote: Quote) -> list:
    """The PEM certificates of a type-5 certification data block, leaf first."""
    from cryptography import x509

    if quote.cert_type != CERT_PCK_CHAIN:
        raise EvidenceError(f"DCAP quote: certification data type {quote.cert_type}; only 5 (PCK certificate "
                            "chain) can be checked without a PCCS")
    try:
        return x509.load_pem_x509_certificates(quote.cert_data.rstrip(b"\0"))
    except ValueError as err:
        raise EvidenceError(f"DCAP quote: the PCK certificate chain does not parse ({err})") from None


def verify(data: bytes, root=None) -> Quote:
    """Parse ``data`` and check every signature a quote carries (module doc)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    q = parse(data)
    try:
        att = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + q.attestation_key)
    except ValueError:
        raise EvidenceError("DCAP quote: the attestation key is not a P-256 point") from None
    if not _ecdsa_ok(att, q.isv_signature, q.signed):
        raise EvidenceError("DCAP quote: the ISV enclave report signature does not verify with the "
                            "attestation key (tampered quote)")
    expect = hashlib.sha256(q.attestation_key + q.qe_auth_data).digest() + bytes(32)
    if q.qe_report.reportdata != expect:
        raise EvidenceError("DCAP quote: the QE report's REPORTDATA does not bind the attestation key")
    chain = pck_chain(q)
    if not _ecdsa_ok(chain[0].public_key(), q.qe_signature, q.qe_report_raw):
        raise EvidenceError("DCAP quote: the QE report signature does not verify with the PCK certificate")
    for child, parent in zip(chain, chain[1:]):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError) as err:
            raise EvidenceError(f"DCAP quote: PCK chain broken at {child.subject.rfc4514_string()} "
                                f"({err or 'bad signature'})") from None
        except Exception:  # cryptography's InvalidSignature
            raise EvidenceError(f"DCAP quote: PCK chain broken at {child.subject.rfc4514_string()} "
                                "(bad signature)") from None
    if root is not None and chain[-1] != root:
        raise EvidenceError(f"DCAP quote: the PCK chain ends at {chain[-1].subject.rfc4514_string()}, "
                            "not at the trusted Intel SGX Root CA")
    return q
