"""The shields' crypto object (DESIGN.md section 8, "Crypto") inside an enclave in SIM.

Expected values come from NIST and RFC vectors (in progs/shield_crypto.c,
with their sources) or from an independent implementation (Python's
``cryptography``), never from the code under test.
"""

import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, Mode

from scone_cc import crypto_build

from .conftest import scone_gcc


def test_only_the_api_is_global(crypto_lib, sysroot):
    """Every other symbol is local; what stays undefined is libc's (musl's) to give."""
    ours, leaked = crypto_build.exported(crypto_lib)
    assert not leaked
    assert "__scone_crypto_aes_gcm_encrypt" in ours and "__scone_tls_new" in ours
    def names(*argv):
        out = subprocess.run(["nm", *argv], capture_output=True, text=True, check=True).stdout
        return {ln.split()[-1] for ln in out.splitlines() if len(ln.split()) >= 2}

    undef = names("-u", crypto_lib) - {"_GLOBAL_OFFSET_TABLE_"}
    assert undef and not undef - names("-g", "--defined-only", sysroot / "lib" / "libc.a")


def test_known_answers_in_enclave(crypto_prog, run_enclave):
    """AES-GCM (CAVP), AES-CMAC (RFC 4493), SHA-256 (FIPS 180-2), HKDF (RFC 5869),
    the SP 800-108 KDF (CAVP), random bytes, ECDH and ECDSA round trips.
    Also runs OpenSSL's CPU detection (cpuid) inside, before main."""
    out = run_enclave([crypto_prog, "kat"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAIL" not in out.stdout and out.stdout.rstrip().endswith("0 failures")
    assert out.stdout.count("ok ") >= 28


@pytest.mark.parametrize("key,label,context,length", [
    ("000102030405060708090a0b0c0d0e0f", "6c6162656c", "636f6e74657874", 16),
    ("2b7e151628aed2a6abf7158809cf4f3c", "53474d2d50462d4b4559", "", 48),
    ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "01", "ff00ee", 33),
])
def test_kdf_matches_an_independent_implementation(crypto_prog, run_enclave,
                                                   key, label, context, length):
    """SP 800-108 counter mode, [i]_32 || label || 0x00 || context || [L]_32."""
    out = run_enclave([crypto_prog, "kdf", key, label, context, length])
    assert out.returncode == 0, out.stderr
    want = KBKDFCMAC(algorithm=algorithms.AES, mode=Mode.CounterMode, length=length, rlen=4,
                     llen=4, location=CounterLocation.BeforeFixed, label=bytes.fromhex(label),
                     context=bytes.fromhex(context), fixed=None).derive(bytes.fromhex(key))
    assert out.stdout.split() == ["kdf", want.hex()]


def test_ecdsa_x509_csr_verified_outside(crypto_prog, run_enclave):
    msg = b"the enclave's report data"
    out = run_enclave([crypto_prog, "ecdsa", msg.hex()])
    assert out.returncode == 0, out.stderr
    got = dict(line.split() for line in out.stdout.splitlines())
    pub = serialization.load_der_public_key(bytes.fromhex(got["spki"]))
    assert isinstance(pub.curve, ec.SECP256R1)
    pub.verify(bytes.fromhex(got["sig"]), msg, ec.ECDSA(hashes.SHA256()))
    cert = x509.load_der_x509_certificate(bytes.fromhex(got["cert"]))
    assert cert.subject.rfc4514_string() == "CN=enclave.test" == cert.issuer.rfc4514_string()
    assert cert.public_key() == pub
    cert.verify_directly_issued_by(cert)
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"))
    assert ext.value.value == bytes.fromhex("0403716f74") and not ext.critical
    csr = x509.load_der_x509_csr(bytes.fromhex(got["csr"]))
    assert csr.is_signature_valid and csr.public_key() == pub


def test_tls13_over_a_bio_pair(crypto_prog, run_enclave):
    out = run_enclave([crypto_prog, "tls-pair"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAIL" not in out.stdout and out.stdout.rstrip().endswith("0 failures")


def test_many_threads_at_once(crypto_prog, run_enclave):
    out = run_enclave([crypto_prog, "threads"])
    assert out.returncode == 0 and out.stdout.startswith("ok "), out.stdout + out.stderr


def _pem_identity(tmp_path: Path):
    """A CA and a server certificate for localhost, made outside with cryptography."""
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject, issuer, pub, signer, ca):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(pub).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                                critical=False)
        return b.sign(signer, hashes.SHA256())

    name = lambda cn: x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])  # noqa: E731
    ca = cert(name("test CA"), name("test CA"), ca_key.public_key(), ca_key, True)
    leaf = cert(name("localhost"), name("test CA"), key.public_key(), ca_key, False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_enclave_server_with_openssl_s_client(crypto_prog, tmp_path):
    """The enclave's TLS server (driving its own socket) and a real `openssl s_client`."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    _pem_identity(tmp_path)
    server = subprocess.Popen([crypto_prog, "tls-serve", tmp_path / "chain.pem",
                               tmp_path / "key.pem"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "SCONE_MODE": "SIM"})
    try:
        first = server.stdout.readline().split()
        assert first[:1] == ["port"], first + [server.stderr.read()]
        client = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{first[1]}", "-tls1_3",
             "-servername", "localhost", "-verify_hostname", "localhost",
             "-CAfile", tmp_path / "ca.pem", "-verify_return_error", "-ign_eof", "-quiet"],
            input="ping from s_client\n", capture_output=True, text=True, timeout=60)
        rest, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert client.returncode == 0, client.stderr
    assert "enclave says ping from s_client" in client.stdout
    assert server.returncode == 0, err
    assert "version 0304" in rest and "got ping from s_client" in rest


TWO_COPIES_C = r"""
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <scone/crypto.h>

int main(void)
{
	unsigned char a[32], b[32];
	unsigned int n = 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	/* The program's own OpenSSL (libssl too, as a server with its own TLS) ... */
	if (!ctx || !EVP_Digest("abc", 3, a, &n, EVP_sha256(), NULL) || n != 32)
		return 1;
	SSL_CTX_free(ctx);
	/* ... and the runtime's, in the same enclave. */
	if (__scone_crypto_sha256("abc", 3, b))
		return 2;
	for (int i = 0; i < 32; i++)
		printf("%02x", a[i]);
	printf(" %s\n", memcmp(a, b, 32) ? "differ" : "same");
	return 0;
}
"""


def test_program_with_its_own_openssl(openssl_dir, crypto_lib, tmp_path, run_enclave):
    """A program linking OpenSSL's static libraries itself still links (no
    duplicate symbols) and both copies work."""
    src = tmp_path / "two.c"
    src.write_text(TWO_COPIES_C)
    scone_gcc(["-O2", "--scone-crypto", f"-I{openssl_dir / 'include'}", src,
               openssl_dir / "lib" / "libssl.a", openssl_dir / "lib" / "libcrypto.a",
               "-o", tmp_path / "two"])
    out = run_enclave([tmp_path / "two"])
    assert out.returncode == 0, out.stderr
    # FIPS 180-2 appendix B.1.
    assert out.stdout.split() == [
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "same"]


def _image_size(binary: Path, tmp_path: Path) -> tuple[int, int]:
    """(text, data + bss) of the enclave image inside a scone binary."""
    image = tmp_path / (binary.name + ".image")
    subprocess.run(["objcopy", f"--dump-section=.scone.enclave={image}", binary,
                    tmp_path / "discard"], check=True)
    fields = subprocess.run(["size", image], capture_output=True, text=True,
                            check=True).stdout.splitlines()[1].split()
    return int(fields[0]), int(fields[1]) + int(fields[2])


def test_hello_does_not_grow(crypto_lib, repo, tmp_path):
    """The object comes in only when called: a hello linked with --scone-crypto
    that calls none of it is no larger than one without."""
    hello = repo / "samples" / "hello.c"
    scone_gcc(["-O2", hello, "-o", tmp_path / "plain"])
    scone_gcc(["-O2", "--scone-crypto", hello, "-o", tmp_path / "flag"])
    plain, flag = _image_size(tmp_path / "plain", tmp_path), _image_size(tmp_path / "flag", tmp_path)
    assert flag[0] <= plain[0] and flag[1] <= plain[1]
