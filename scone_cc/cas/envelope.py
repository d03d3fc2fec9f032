"""The configuration, encrypted to the enclave's attested key (PROTOCOL.md "Envelope").

ECIES over P-256: an ephemeral key E, Z = ECDH(E, K) with K the key whose
hash the evidence's REPORTDATA binds, AES-256-GCM key =
HKDF-SHA256(Z, salt = nonce, info = "scone-cas config v1", 32 bytes),
12-byte random IV, AAD = nonce. OpenSSL 3 has every piece (EVP_PKEY_derive,
EVP_KDF "HKDF", EVP_aes_256_gcm), so the enclave side needs no new code.
"""

from __future__ import annotations

import os

INFO = b"scone-cas config v1"


def _key(shared: bytes, nonce: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=INFO).derive(shared)


def seal(plaintext: bytes, recipient_spki: bytes, nonce: bytes) -> dict:
    """Encrypt ``plaintext`` to the P-256 key ``recipient_spki`` (DER); JSON-ready dict."""
    import base64

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from scone_cc.cas.keyfiles import spki_der

    recipient = ser.load_der_public_key(recipient_spki)
    eph = ec.generate_private_key(ec.SECP256R1())
    iv = os.urandom(12)
    ct = AESGCM(_key(eph.exchange(ec.ECDH(), recipient), nonce)).encrypt(iv, plaintext, nonce)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return {"alg": "ECDH-P256+HKDF-SHA256+A256GCM", "ephemeral_key": b64(spki_der(eph.public_key())),
            "iv": b64(iv), "ciphertext": b64(ct)}


def open_(envelope: dict, private_key, nonce: bytes) -> bytes:
    """Decrypt an envelope with the enclave's private key (what the C client mirrors)."""
    import base64

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    eph = ser.load_der_public_key(base64.b64decode(envelope["ephemeral_key"]))
    key = _key(private_key.exchange(ec.ECDH(), eph), nonce)
    return AESGCM(key).decrypt(base64.b64decode(envelope["iv"]), base64.b64decode(envelope["ciphertext"]), nonce)
