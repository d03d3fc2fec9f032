"""SIM evidence: an SGX REPORT signed by a per-machine SIM attestation key.

Without SGX there is no report key and no quoting enclave, so SIM evidence
replaces the REPORT's MAC by an ECDSA P-256 signature of a key kept 0600
under the scone config dir. A CAS accepts it only if its operator trusts
that key (``scone-cas trust-sim-key``) *and* the service's policy allows SIM.
It proves nothing against the host: whoever holds the SIM key can forge it.

Format, version 1 (573 bytes; PROTOCOL.md "SIM evidence"):

=======  ====  =====================================================
offset   size  field
=======  ====  =====================================================
0        8     magic ``SCONESIM``
8        2     version, u16 little-endian, = 1
10       2     reserved, zero
12       432   REPORT (SDM §38.15); KEYID and MAC zero
444      65    SIM key's public point, uncompressed (0x04 || X || Y)
509      64    ECDSA-P256-SHA256 signature r || s (32 bytes each, big-endian)
               over bytes 0..508
=======  ====  =====================================================
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from scone_cc.cas.report import REPORT_SIZE, Report, ReportBody
from scone_cc.errors import SconeError

MAGIC = b"SCONESIM"
VERSION = 1
REPORT_AT = 12
KEY_AT = REPORT_AT + REPORT_SIZE          # 444
SIG_AT = KEY_AT + 65                      # 509
SIZE = SIG_AT + 64                        # 573
SIM_KEY_NAME = "sim-attestation-key.pem"


class EvidenceError(SconeError):
    """Evidence that cannot be parsed or whose signature does not verify."""


def sim_key_path() -> Path:
    from scone_cc.paths import config_dir
    return config_dir() / SIM_KEY_NAME


def sim_key(path: Path | None = None):
    """The per-machine SIM attestation key (EC P-256), created 0600 on first use."""
    from scone_cc.cas.keyfiles import create_once, load_ec_private, new_ec_key, pem_private

    path = Path(path) if path else sim_key_path()
    create_once(path, lambda: pem_private(new_ec_key()))
    return load_ec_private(path, "SIM attestation key")


def public_point(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser
    return public_key.public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)


def key_id(public_key) -> str:
    """How a SIM key is named: SHA-256 of its 65-byte uncompressed point, hex."""
    return hashlib.sha256(public_point(public_key)).hexdigest()


def report_for_sigstruct(sigstruct: bytes, reportdata: bytes) -> Report:
    """The REPORT EREPORT would give the enclave that ``sigstruct`` initialises.

    MRENCLAVE = ENCLAVEHASH, MRSIGNER = SHA-256(MODULUS), ATTRIBUTES = the
    signed ones with INIT set, ISVPRODID/ISVSVN/MISCSELECT/XFRM as signed
    (SDM §38.15, sgx-spec §6). CPUSVN is zero: SIM has no CPU to report.
    """
    from scone_cc.sgx import sigstruct as sigs
    from scone_cc.sgx.structs import ATTR_INIT, Sigstruct

    if len(reportdata) != 64:
        raise SconeError(f"REPORTDATA must be 64 bytes, got {len(reportdata)}")
    sig = Sigstruct.unpack(sigstruct)
    return Report(miscselect=sig.miscselect, isvextprodid=sig.isvextprodid,
                  attributes=sig.attributes | ATTR_INIT, xfrm=sig.xfrm,
                  mrenclave=sig.enclavehash, mrsigner=sigs.mrsigner(sigstruct),
                  isvprodid=sig.isvprodid, isvsvn=sig.isvsvn, isvfamilyid=sig.isvfamilyid,
                  reportdata=bytes(reportdata))


def make_evidence(report: Report, key) -> bytes:
    """SIM evidence for ``report`` signed with ``key`` (format in the module doc)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    body = MAGIC + VERSION.to_bytes(2, "little") + bytes(2) + report.pack() + public_point(key.public_key())
    r, s = decode_dss_signature(key.sign(body, ec.ECDSA(hashes.SHA256())))
    return body + r.to_bytes(32, "big") + s.to_bytes(32, "big")


def evidence_for_binary(binary, reportdata: bytes, key=None) -> bytes:
    """SIM evidence for the signed scone binary ``binary`` (what the runtime will produce)."""
    from scone_cc.sgx.signing import read

    sb = read(binary)
    if sb.sigstruct is None:
        raise SconeError(f"{binary}: not signed; sign it with `scone-sign sign` first")
    return make_evidence(report_for_sigstruct(sb.sigstruct, reportdata), key or sim_key())


@dataclass(frozen=True)
class SimEvidence:
    report: ReportBody
    key_id: str


def verify(data: bytes, trusted_key_ids) -> SimEvidence:
    """Parse and verify SIM evidence; ``trusted_key_ids``: hex ids of trusted SIM keys."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    data = bytes(data)
    if len(data) != SIZE:
        raise EvidenceError(f"SIM evidence is {len(data)} bytes, must be {SIZE}")
    if data[:8] != MAGIC:
        raise EvidenceError(f"SIM evidence: bad magic {data[:8].hex()}")
    version = int.from_bytes(data[8:10], "little")
    if version != VERSION or any(data[10:12]):
        raise EvidenceError(f"SIM evidence: version {version} is not {VERSION} (or reserved bytes set)")
    report = Report.unpack(data[REPORT_AT:KEY_AT], strict=False)
    problems = Report.problems(data[REPORT_AT:KEY_AT])
    if problems:
        raise EvidenceError("SIM evidence: " + "; ".join(problems))
    point = data[KEY_AT:SIG_AT]
    kid = hashlib.sha256(point).hexdigest()
    if kid not in set(trusted_key_ids):
        raise EvidenceError(f"SIM evidence is signed by SIM key {kid[:16]}…, which this CAS does not "
                            "trust (the operator adds it with `scone-cas trust-sim-key`)")
    try:
        pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        r = int.from_bytes(data[SIG_AT:SIG_AT + 32], "big")
        s = int.from_bytes(data[SIG_AT + 32:], "big")
        pub.verify(encode_dss_signature(r, s), data[:SIG_AT], ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        raise EvidenceError("SIM evidence: the signature does not verify (tampered evidence)") from None
    return SimEvidence(report.body(), kid)
