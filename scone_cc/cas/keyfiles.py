"""Private key files created once, mode 0600, race-free (the developer-key pattern).

Used for the CAS identity key (state dir), the SIM attestation key and the
CLI's client key (config dir). Concurrent first uses agree on one file: the
new file is linked into place only if none exists yet.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from scone_cc.errors import SconeError


def pem_private(key) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())


def new_ec_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def create_once(path: Path, make) -> bool:
    """Write ``make()`` to ``path`` (0600) unless it exists; True if this call made it."""
    path = Path(path)
    if path.exists():
        return False
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise SconeError(f"{folder}: cannot create the folder ({err.strerror})") from None
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    except OSError as err:
        raise SconeError(f"{path}: cannot create it ({err.strerror}); check the folder's permissions") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load_ec_private(path: Path, what: str):
    """An EC P-256 private key from a PEM file, or one SconeError naming the file."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read the {what} ({err.strerror})") from None
    try:
        key = ser.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise SconeError(f"{path}: not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SconeError(f"{path}: the {what} must be an EC P-256 key")
    return key


def spki_der(public_key) -> bytes:
    """DER SubjectPublicKeyInfo: what every key hash in the protocol is taken over."""
    from cryptography.hazmat.primitives import serialization as ser
    return public_key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
