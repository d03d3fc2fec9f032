"""Evidence formats: REPORT and quote layouts against the published tables,
SIM evidence, an ECDSA quote v3 assembled from Intel's field table, RA-TLS
over real TLS between two Python endpoints."""

import hashlib
import os
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec

from scone_cc.cas import dcap, ratls, sim
from scone_cc.cas.report import Report, ReportBody
from scone_cc.cas.sim import EvidenceError

from .quotes import assemble_quote

# Intel SDM Vol. 3D §38.15 (REPORT), as (field, offset, size): written out
# from the manual, not from scone_cc.cas.report.
SDM_REPORT = [("cpusvn", 0, 16), ("miscselect", 16, 4), ("isvextprodid", 32, 16), ("attributes", 48, 8),
              ("xfrm", 56, 8), ("mrenclave", 64, 32), ("mrsigner", 128, 32), ("configid", 192, 64),
              ("isvprodid", 256, 2), ("isvsvn", 258, 2), ("configsvn", 260, 2), ("isvfamilyid", 304, 16),
              ("reportdata", 320, 64), ("keyid", 384, 32), ("mac", 416, 16)]


def test_report_layout_matches_the_sdm():
    assert Report.SIZE == 432 and ReportBody.SIZE == 384
    raw = bytearray(432)
    for i, (_, off, size) in enumerate(SDM_REPORT):
        raw[off:off + size] = bytes([i + 1]) * size
    r = Report.unpack(bytes(raw))
    for i, (name, _, size) in enumerate(SDM_REPORT):
        got = getattr(r, name)
        want = bytes([i + 1]) * size
        assert (got == want) if isinstance(got, bytes) else (got == int.from_bytes(want, "little")), name
    assert r.pack() == bytes(raw)
    raw[100] = 1                                      # reserved (96..127)
    with pytest.raises(Exception, match="reserved byte at offset 100"):
        Report.unpack(bytes(raw))


def test_sim_evidence_format(apps, config_home):
    rd = os.urandom(64)
    ev = sim.evidence_for_binary(apps["debug"], rd)
    from scone_cc.sgx.signing import read
    ss = read(apps["debug"]).sigstruct
    assert len(ev) == 573 and ev[:8] == b"SCONESIM" and ev[8:10] == b"\x01\x00"
    rep = ev[12:444]
    assert rep[64:96] == ss[960:992]                             # MRENCLAVE = ENCLAVEHASH
    assert rep[128:160] == hashlib.sha256(ss[128:512]).digest()  # MRSIGNER = SHA-256(MODULUS)
    assert rep[256:260] == ss[1024:1028]                         # ISVPRODID, ISVSVN
    assert rep[320:384] == rd and rep[384:432] == bytes(48)      # REPORTDATA; KEYID, MAC zero
    assert int.from_bytes(rep[48:56], "little") & 3 == 3          # INIT | DEBUG
    key = sim.sim_key()
    point = key.public_key().public_bytes(ser.Encoding.X962,
                                          ser.PublicFormat.UncompressedPoint)
    assert ev[444:509] == point
    # Independent check of the signature: r || s over bytes 0..508, with the public point.
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    key.public_key().verify(encode_dss_signature(int.from_bytes(ev[509:541], "big"),
                                                 int.from_bytes(ev[541:], "big")), ev[:509],
                            ec.ECDSA(hashes.SHA256()))
    kid = hashlib.sha256(point).hexdigest()
    assert sim.verify(ev, {kid}).report.reportdata == rd
    assert os.stat(config_home / "scone" / "sim-attestation-key.pem").st_mode & 0o777 == 0o600
    with pytest.raises(EvidenceError, match="does not trust"):
        sim.verify(ev, set())
    with pytest.raises(EvidenceError, match="573"):
        sim.verify(ev[:-1], {kid})


# --- an ECDSA quote v3 assembled by hand from Intel's field table (quotes.py) ----


def test_quote_v3_parses_and_verifies():
    rd = os.urandom(64)
    quote, root = assemble_quote(rd)
    q = dcap.verify(quote, root)
    assert q.header.version == 3 and q.header.att_key_type == 2 and q.header.qe_svn == 7
    assert q.header.pce_svn == 13 and q.header.qe_vendor_id == dcap.INTEL_QE_VENDOR_ID
    assert q.report.mrenclave == b"\x11" * 32 and q.report.mrsigner == b"\x22" * 32
    assert (q.report.isvprodid, q.report.isvsvn, q.report.reportdata) == (9, 4, rd)
    assert q.qe_report.mrenclave == b"\x33" * 32 and q.cert_type == 5 and len(q.qe_auth_data) == 32


@pytest.mark.parametrize("offset,why", [
    (48 + 64, "ISV enclave report signature does not verify"),        # MRENCLAVE byte
    (436 + 128 + 320, "REPORTDATA does not bind the attestation key"),  # QE REPORTDATA
    (436 + 128 + 64, "QE report signature does not verify"),           # QE MRENCLAVE
])
def test_tampered_quote_is_refused(offset, why):
    quote, root = assemble_quote(os.urandom(64), tamper=offset)
    with pytest.raises(EvidenceError, match=why):
        dcap.verify(quote, root)


def test_quote_chain_must_end_at_the_given_root():
    quote, _ = assemble_quote(os.urandom(64))
    _, other_root = assemble_quote(os.urandom(64))
    with pytest.raises(EvidenceError, match="not at the trusted Intel SGX Root CA"):
        dcap.verify(quote, other_root)
    with pytest.raises(EvidenceError, match="version 4"):
        dcap.verify(b"\x04\x00" + quote[2:])
    with pytest.raises(EvidenceError, match="signature data length field"):
        dcap.verify(quote[:-1])


# --- RA-TLS between two Python endpoints over real TLS ---------------------

def _serve_once(cert, key):
    import tempfile
    d = tempfile.mkdtemp()
    cp, kp = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    open(cp, "wb").write(cert.public_bytes(ser.Encoding.PEM))
    open(kp, "wb").write(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cp, kp)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)

    def run():
        c, _ = ls.accept()
        try:
            with ctx.wrap_socket(c, server_side=True) as s:
                s.sendall(b"secret-free hello")
                s.recv(100)
        except (OSError, ssl.SSLError):
            pass
        ls.close()
    threading.Thread(target=run, daemon=True).start()
    return ls.getsockname()[1]


def _connect(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the RA-TLS verifier decides, right after the handshake
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))


def test_ratls_with_sim_evidence(apps):
    from scone_cc.sgx.signing import read
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ratls.make_certificate(key, sim.evidence_for_binary(apps["prod"], ratls.reportdata(key)), "sim")
    kid = sim.key_id(sim.sim_key().public_key())
    mr = read(apps["prod"]).sigstruct[960:992].hex()
    mr2 = read(apps["prod2"]).sigstruct[960:992].hex()
    mrs = hashlib.sha256(read(apps["prod"]).sigstruct[128:512]).hexdigest()
    port = _serve_once(cert, key)
    s = _connect(port)
    r = ratls.verify_peer(s, mrenclave=mr, allow_sim=True, sim_key_ids={kid})
    assert r.mrenclave.hex() == mr and s.recv(100) == b"secret-free hello"
    s.close()
    der = cert.public_bytes(ser.Encoding.DER)
    assert ratls.verify_certificate(der, mrsigner=mrs, isvprodid=0, allow_sim=True, sim_key_ids={kid})
    with pytest.raises(ratls.RatlsError, match=f"MRENCLAVE {mr[:16]}… is not the required {mr2[:16]}"):
        ratls.verify_certificate(der, mrenclave=mr2, allow_sim=True, sim_key_ids={kid})
    with pytest.raises(ratls.RatlsError, match="SIM evidence, which is not accepted"):
        ratls.verify_certificate(der, mrenclave=mr, sim_key_ids={kid})
    with pytest.raises(ratls.RatlsError, match="ISVSVN 0 is below the required 1"):
        ratls.verify_certificate(der, mrsigner=mrs, min_isvsvn=1, allow_sim=True, sim_key_ids={kid})
    # Evidence lifted into a certificate of another key: REPORTDATA gives it away.
    thief = ec.generate_private_key(ec.SECP256R1())
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(ratls.SIM_OID)).value.value
    stolen = ratls.make_certificate(thief, ext, "sim")
    port = _serve_once(stolen, thief)
    s = _connect(port)
    with pytest.raises(ratls.RatlsError, match="REPORTDATA does not bind"):
        ratls.verify_peer(s, mrenclave=mr, allow_sim=True, sim_key_ids={kid})


def test_ratls_with_a_dcap_quote_uses_the_intel_oid():
    key = ec.generate_private_key(ec.SECP256R1())
    quote, root = assemble_quote(ratls.reportdata(key))
    cert = ratls.make_certificate(key, quote, "dcap")
    ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.2.840.113741.1337.6"))
    assert ext.value.value == quote and not ext.critical
    port = _serve_once(cert, key)
    s = _connect(port)
    r = ratls.verify_peer(s, mrenclave="11" * 32, dcap_root=root)
    assert r.isvprodid == 9
    s.close()
    der_ok = cert.public_bytes(ser.Encoding.DER)
    with pytest.raises(ratls.RatlsError, match="no Intel SGX Root CA was given"):
        ratls.verify_certificate(der_ok, mrenclave="11" * 32)
    debug_quote, root = assemble_quote(ratls.reportdata(key), attributes=0x7)
    der = ratls.make_certificate(key, debug_quote, "dcap").public_bytes(
        ser.Encoding.DER)
    with pytest.raises(ratls.RatlsError, match="debug enclave"):
        ratls.verify_certificate(der, mrenclave="11" * 32, dcap_root=root)


def test_quote_layout_agrees_with_an_independent_parser():
    """Phala's dcap-qvl (PyPI, Rust) reads the assembled quote as we do."""
    import dcap_qvl
    rd = os.urandom(64)
    quote, root = assemble_quote(rd, mrenclave=bytes(range(32)), attributes=0x7)
    theirs = dcap_qvl.Quote.parse(quote)
    ours = dcap.verify(quote, root)
    assert theirs.quote_type() == "SGX"
    h = theirs.header
    assert (h.version, h.attestation_key_type, h.qe_svn, h.pce_svn, h.qe_vendor_id) == \
        (ours.header.version, ours.header.att_key_type, ours.header.qe_svn, ours.header.pce_svn,
         ours.header.qe_vendor_id)
    r = theirs.report
    assert r.mr_enclave == ours.report.mrenclave == bytes(range(32))
    assert r.mr_signer == ours.report.mrsigner
    assert r.report_data == ours.report.reportdata == rd
    assert r.cpu_svn == ours.report.cpusvn
    assert int.from_bytes(r.attributes[:8], "little") == ours.report.attributes == 0x7
    assert int.from_bytes(r.attributes[8:], "little") == ours.report.xfrm
    assert theirs.cert_chain_pem_bytes().rstrip(b"\0") == ours.cert_data.rstrip(b"\0")
