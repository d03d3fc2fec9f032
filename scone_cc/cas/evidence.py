"""One entry point for both kinds of evidence, and the REPORTDATA binding.

``sim``: SIM evidence (scone_cc.cas.sim); ``dcap``: an SGX ECDSA quote v3
(scone_cc.cas.dcap). Both yield the enclave's 384-byte report body.
REPORTDATA binds a public key: bytes 0..31 = SHA-256(SPKI DER || nonce),
bytes 32..63 zero (PROTOCOL.md "Attestation"; RA-TLS uses an empty nonce).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from scone_cc.cas.report import ReportBody
from scone_cc.cas.sim import EvidenceError

KINDS = ("sim", "dcap")


@dataclass(frozen=True)
class Verified:
    report: ReportBody
    kind: str
    detail: str


def reportdata_for(spki: bytes, nonce: bytes = b"") -> bytes:
    """The 64 REPORTDATA bytes that bind ``spki`` (and ``nonce``)."""
    return hashlib.sha256(bytes(spki) + bytes(nonce)).digest() + bytes(32)


def verify(kind: str, data: bytes, *, sim_key_ids=(), dcap_root=None) -> Verified:
    """Check ``data`` as evidence of ``kind``; EvidenceError says why not."""
    if kind == "sim":
        from scone_cc.cas import sim
        ev = sim.verify(data, sim_key_ids)
        return Verified(ev.report, "sim", f"SIM key {ev.key_id[:16]}…")
    if kind == "dcap":
        from scone_cc.cas import dcap
        q = dcap.verify(data, dcap_root)
        return Verified(q.report, "dcap", dcap.COLLATERAL_NOTE)
    raise EvidenceError(f"evidence type {kind!r} is not one of {', '.join(KINDS)}")


def check_binding(report: ReportBody, spki: bytes, nonce: bytes = b"") -> None:
    if report.reportdata != reportdata_for(spki, nonce):
        raise EvidenceError("REPORTDATA does not bind the presented public key and nonce "
                            "(evidence made for another key or another attestation)")
