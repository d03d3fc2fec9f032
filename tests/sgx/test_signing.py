"""sign_binary / verify_binary as a library: a signer callback stands in for an HSM."""

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from scone_cc.enclave import binfmt
from scone_cc.errors import SconeError
from scone_cc.sgx import signing

from .conftest import SDK_SAMPLE_MRSIGNER


def test_external_signer_callback(unsigned_binary, sample_key):
    key = load_pem_private_key(sample_key.read_bytes(), None)
    seen = []

    def hsm(data: bytes):
        seen.append(data)
        return (key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
                key.public_key().public_numbers().n)

    result = signing.sign_binary(unsigned_binary, signer=hsm, params_update={"isvsvn": 2})
    assert len(seen) == 1 and len(seen[0]) == 256
    assert result.key_path is None and result.mrsigner.hex() == SDK_SAMPLE_MRSIGNER
    sig = binfmt.read(unsigned_binary).sigstruct
    assert sig == result.sigstruct and sig[:128] + sig[900:1028] == seen[0]
    assert signing.verify_binary(unsigned_binary).problems == ()


def test_a_signer_with_the_wrong_key_writes_nothing(unsigned_binary, sample_key):
    key = load_pem_private_key(sample_key.read_bytes(), None)
    before = unsigned_binary.read_bytes()

    def liar(data):
        return key.sign(b"something else", padding.PKCS1v15(), hashes.SHA256()), \
            key.public_key().public_numbers().n

    with pytest.raises(SconeError, match="does not verify"):
        signing.sign_binary(unsigned_binary, signer=liar)
    assert unsigned_binary.read_bytes() == before


def test_verify_reports_a_tampered_sigstruct(signed_binary, sample_key):
    b = binfmt.read(signed_binary)
    bad = bytearray(b.sigstruct)
    bad[1024] ^= 1                                    # ISVPRODID: signed
    binfmt.write_signature(signed_binary, b.layout, bytes(bad))
    problems = signing.verify_binary(signed_binary).problems
    assert any("does not verify" in p for p in problems)


def test_unknown_parameter_is_refused(unsigned_binary):
    with pytest.raises(SconeError, match="unknown enclave parameter"):
        signing.sign_binary(unsigned_binary, params_update={"heap": 1})


def test_two_step_reads_only_and_attach_checks_the_rebuilt_bytes(signed_binary, sample_key):
    import datetime

    key = load_pem_private_key(sample_key.read_bytes(), None)
    n = key.public_key().public_numbers().n
    before = signed_binary.read_bytes()
    stored = binfmt.read(signed_binary).sigstruct
    step = signing.two_step(signed_binary, params_update={"isvprodid": 5})
    assert signed_binary.read_bytes() == before
    assert step.data[20:24] == stored[20:24]         # DATE: the binary's, by default
    assert step.data[128 + 124:128 + 126] == (5).to_bytes(2, "little")
    signature = key.sign(step.data, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SconeError, match="same --date"):
        signing.attach_signature(signed_binary, signature, n, params_update={"isvprodid": 5},
                                 date=datetime.date(2020, 1, 1))
    with pytest.raises(SconeError, match="same --date"):
        signing.attach_signature(signed_binary, signature, n)
    assert signed_binary.read_bytes() == before
    result = signing.attach_signature(signed_binary, signature, n, params_update={"isvprodid": 5})
    assert result.mrsigner.hex() == SDK_SAMPLE_MRSIGNER
    assert binfmt.read(signed_binary).sigstruct[:128] + binfmt.read(signed_binary).sigstruct[900:1028] \
        == step.data
    assert signing.verify_binary(signed_binary).problems == ()
