"""Attested TLS without a CAS (RA-TLS): evidence inside a self-signed X.509 certificate.

The certificate's key is made inside the enclave; REPORTDATA binds it:
bytes 0..31 = SHA-256(DER SubjectPublicKeyInfo), 32..63 zero (as Gramine's
RA-TLS does). The evidence rides in a non-critical extension whose value is
the raw evidence:

* ``1.2.840.113741.1337.6`` — a DCAP quote; Intel's and Gramine's legacy
  RA-TLS quote OID, so Gramine's verifiers read our certificates and ours
  read theirs (Gramine's newer TCG DICE OID 2.23.133.5.4.9 wraps the quote
  in CBOR; not produced here).
* ``2.25.28438808904110092073818337635599286394`` — scone SIM evidence
  (scone_cc.cas.sim). A UUID-derived OID (ITU-T X.667), minted for this
  project: SIM evidence is not an SGX quote and must not pass for one.

There is no nonce: freshness is the certificate's validity period. A peer
verifies after the handshake, before sending anything (``verify_peer``).
"""

from __future__ import annotations

import datetime as _dt

from scone_cc.cas.evidence import check_binding, reportdata_for
from scone_cc.cas.evidence import verify as verify_evidence
from scone_cc.cas.keyfiles import spki_der
from scone_cc.cas.sim import EvidenceError
from scone_cc.errors import SconeError

QUOTE_OID = "1.2.840.113741.1337.6"
SIM_OID = "2.25.28438808904110092073818337635599286394"
_OIDS = {"dcap": QUOTE_OID, "sim": SIM_OID}


class RatlsError(SconeError):
    """A peer certificate that does not prove what the caller requires."""


def reportdata(key) -> bytes:
    """REPORTDATA for a certificate of ``key`` (public or private)."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    return reportdata_for(spki_der(pub))


def make_certificate(key, evidence: bytes, kind: str, common_name: str = "scone RA-TLS", days: int = 1):
    """A self-signed certificate of ``key`` carrying ``evidence`` of ``kind`` ("sim" or "dcap")."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    if kind not in _OIDS:
        raise SconeError(f"evidence kind {kind!r}: use 'sim' or 'dcap'")
    now = _dt.datetime.now(_dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=days))
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(_OIDS[kind]), evidence),
                           critical=False)
            .sign(key, hashes.SHA256()))


def verify_certificate(der: bytes, *, mrenclave: str | None = None, mrsigner: str | None = None,
                       isvprodid: int | None = None, min_isvsvn: int = 0, allow_debug: bool = False,
                       allow_sim: bool = False, sim_key_ids=(), dcap_root=None):
    """Check an RA-TLS certificate; returns the enclave's report body or raises RatlsError.

    Requires ``mrenclave``, or ``mrsigner`` (+ ``isvprodid``, ``min_isvsvn``).
    """
    from cryptography import x509

    if not mrenclave and not mrsigner:
        raise SconeError("RA-TLS verification needs an MRENCLAVE or an MRSIGNER to require")
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.verify_directly_issued_by(cert)
    except Exception:
        raise RatlsError("peer certificate is not a self-signed X.509 certificate") from None
    now = _dt.datetime.now(_dt.timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise RatlsError("peer certificate is outside its validity period")
    found = [(k, e) for k, oid in _OIDS.items() for e in cert.extensions
             if e.oid.dotted_string == oid]
    if not found:
        raise RatlsError(f"peer certificate carries no evidence (extension {QUOTE_OID} or {SIM_OID})")
    kind, ext = found[0]
    if kind == "sim" and not allow_sim:
        raise RatlsError("peer presents SIM evidence, which is not accepted here (allow_sim)")
    if kind == "dcap" and dcap_root is None:
        raise RatlsError("peer presents a DCAP quote, but no Intel SGX Root CA was given to check it (dcap_root)")
    try:
        v = verify_evidence(kind, ext.value.value, sim_key_ids=sim_key_ids, dcap_root=dcap_root)
        check_binding(v.report, spki_der(cert.public_key()))
    except EvidenceError as err:
        raise RatlsError(f"peer evidence: {err}") from None
    r = v.report
    if r.debug and not allow_debug:
        raise RatlsError("peer is a debug enclave (ATTRIBUTES.DEBUG set), not accepted here")
    if mrenclave and r.mrenclave.hex() != mrenclave.lower():
        raise RatlsError(f"peer MRENCLAVE {r.mrenclave.hex()[:16]}… is not the required {mrenclave[:16]}…")
    if mrsigner:
        if r.mrsigner.hex() != mrsigner.lower():
            raise RatlsError(f"peer MRSIGNER {r.mrsigner.hex()[:16]}… is not the required {mrsigner[:16]}…")
        if isvprodid is not None and r.isvprodid != isvprodid:
            raise RatlsError(f"peer ISVPRODID {r.isvprodid} is not the required {isvprodid}")
        if r.isvsvn < min_isvsvn:
            raise RatlsError(f"peer ISVSVN {r.isvsvn} is below the required {min_isvsvn}")
    return r


def verify_peer(sslsock, **require):
    """``verify_certificate`` on a connected ssl socket's peer (close it on failure)."""
    der = sslsock.getpeercert(binary_form=True)
    if der is None:
        sslsock.close()
        raise RatlsError("peer presented no certificate")
    try:
        return verify_certificate(der, **require)
    except SconeError:
        sslsock.close()
        raise
