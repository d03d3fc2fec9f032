"""Secrets the CAS generates once per session and keeps (PROTOCOL.md "Secrets").

Values are JSON-ready dicts of strings; ``substitute`` replaces
``$$SCONE::name[.suffix]$$`` by them. Keys are EC P-256; certificates are
issued by the session's own CA (``SESSION_CA``), created with the session.
"""

from __future__ import annotations

import base64
import datetime as _dt
import secrets as _rand
import string

from scone_cc.cas.keyfiles import new_ec_key, pem_private
from scone_cc.cas.policy import SESSION_CA, SUBST


def _pem_cert(cert) -> str:
    from cryptography.hazmat.primitives import serialization as ser
    return cert.public_bytes(ser.Encoding.PEM).decode()


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(session: str) -> dict:
    """A new session CA: EC P-256 key, self-signed, CA:TRUE pathlen 0, 10 years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = new_ec_key()
    now = _dt.datetime.now(_dt.timezone.utc)
    name = _name(f"scone-cas session CA {session}"[:64])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return {"crt": _pem_cert(cert), "key": pem_private(key).decode()}


def _issue(spec: dict, ca: dict, public_key=None) -> dict:
    """A certificate from the session CA: for a new key (returned too), or for ``public_key``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key = ser.load_pem_private_key(ca["key"].encode(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca["crt"].encode())
    key = None if public_key else new_ec_key()
    now = _dt.datetime.now(_dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(spec["common_name"])).issuer_name(ca_cert.subject)
         .public_key(public_key or key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - _dt.timedelta(minutes=5))
         .not_valid_after(now + _dt.timedelta(days=spec.get("days", 365)))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                               ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if spec.get("dns"):
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in spec["dns"]]), critical=False)
    crt = _pem_cert(b.sign(ca_key, hashes.SHA256()))
    return {"crt": crt} if public_key else {"crt": crt, "key": pem_private(key).decode()}


def attested_certificate(spki: bytes, session: str, service: str, ca: dict) -> str:
    """The session CA's certificate for an attested enclave's own key (PROTOCOL.md §4 ``identity``).

    The private key never leaves the enclave; CN = SERVICE.SESSION, 30 days.
    """
    from cryptography.hazmat.primitives import serialization as ser
    cn = f"{service}.{session}"[:64]
    return _issue({"common_name": cn, "days": 30}, ca, ser.load_der_public_key(spki))["crt"]


def generate(spec: dict, ca: dict) -> dict:
    """A fresh value for the secret ``spec`` (one entry of the session's ``secrets``)."""
    kind = spec["kind"]
    if kind == "random":
        raw = _rand.token_bytes(spec.get("size", 32))
        return {"hex": raw.hex(), "b64": base64.b64encode(raw).decode()}
    if kind == "password":
        alphabet = string.ascii_letters + string.digits
        return {"value": "".join(_rand.choice(alphabet) for _ in range(spec.get("size", 20)))}
    if kind == "ec-key":
        from cryptography.hazmat.primitives import serialization as ser
        key = new_ec_key()
        pub = key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
        return {"key": pem_private(key).decode(), "pub": pub.decode()}
    value = _issue(spec, ca)
    value["chain"] = value["crt"] + ca["crt"]
    return value


def spec_fingerprint(spec: dict) -> str:
    """What decides whether a kept value still fits its definition after an update."""
    from scone_cc.cas.policy import canonical
    import hashlib
    return hashlib.sha256(canonical(spec)).hexdigest()


_PICK = {
    "random": {"": "hex", "hex": "hex", "b64": "b64"},
    "password": {"": "value"},
    "ec-key": {"": "key", "key": "key", "pub": "pub"},
    "x509": {"": "crt", "crt": "crt", "key": "key", "chain": "chain"},
    "ca": {"": "crt", "crt": "crt"},
}


def substitute(text: str, values: dict, kinds: dict) -> str:
    """Replace every ``$$SCONE::name[.suffix]$$`` in ``text`` (names checked by policy)."""
    def one(m):
        name, suffix = m.group(1), m.group(2) or ""
        return values[name][_PICK[kinds[name]][suffix]]
    return SUBST.sub(one, text)


def public_view(kinds: dict) -> list[dict]:
    return [{"name": n, "kind": k} for n, k in sorted(kinds.items()) if n != SESSION_CA]
