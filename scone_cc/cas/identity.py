"""Long-lived TLS identities: the CAS's (state dir) and the CLI user's (config dir).

The CAS's key is EC P-256, created 0600 in the state dir on first start; its
certificate is self-signed and public. Enclaves pin the SHA-256 of the key's
DER SubjectPublicKeyInfo (``scone-cas identity``; ``--scone-cas-key`` at sign
time). A CLI user is the SHA-256 of their client certificate's SPKI, which
is also what owns a session.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from scone_cc.cas.keyfiles import create_once, load_ec_private, new_ec_key, pem_private, spki_der

IDENTITY_KEY = "identity-key.pem"
IDENTITY_CERT = "identity-cert.pem"
CLIENT_KEY = "cas-client-key.pem"
CLIENT_CERT = "cas-client-cert.pem"


def self_signed(key, cn: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.x509.oid import NameOID

    now = _dt.datetime.now(_dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1)).not_valid_after(now + _dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(ser.Encoding.PEM)


def key_hash(public_key) -> str:
    """The pinned value: SHA-256 of the DER SubjectPublicKeyInfo, hex."""
    return hashlib.sha256(spki_der(public_key)).hexdigest()


def cert_key_hash(cert_der: bytes) -> str:
    from cryptography import x509
    return key_hash(x509.load_der_x509_certificate(cert_der).public_key())


def _pair(folder: Path, key_name: str, cert_name: str, cn: str) -> tuple[Path, Path, str]:
    key_path, cert_path = folder / key_name, folder / cert_name
    create_once(key_path, lambda: pem_private(new_ec_key()))
    key = load_ec_private(key_path, "identity key")
    # A registered client certificate is a trust anchor of the CAS, found by
    # subject name: each one's subject is unique (its key hash).
    create_once(cert_path, lambda: self_signed(key, f"{cn} {key_hash(key.public_key())[:32]}"))
    return cert_path, key_path, key_hash(key.public_key())


def cas_identity(state: Path) -> tuple[Path, Path, str]:
    """(cert, key, pinned hash) of the CAS whose state folder is ``state``."""
    return _pair(Path(state), IDENTITY_KEY, IDENTITY_CERT, "scone-cas")


def client_identity(config: Path | None = None) -> tuple[Path, Path, str]:
    """(cert, key, client id) of this user, created 0600 under the scone config dir."""
    from scone_cc.paths import config_dir
    return _pair(Path(config) if config else config_dir(), CLIENT_KEY, CLIENT_CERT, "scone-cas client")
