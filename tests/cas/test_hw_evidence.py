"""HW evidence (PROTOCOL.md §3.2) as far as it can be tested without SGX
hardware and without Intel's DCAP library, neither of which this machine has:

* the TARGETINFO and REPORT structures the enclave hands to EREPORT, against
  the offsets of Intel's sgx_report.h (typed here from its comments);
* a quote made on SGX hardware and published (tests/cas/data), checked by the
  CAS's parser down to the real Intel SGX Root CA, its fields compared with
  dcap-qvl's parser, and sent through a running CAS;
* the starter's half (runtime/untrusted/dcapquote.c): loading the library,
  the one line when it is missing or incomplete, and its handling of what a
  library returns (a stand-in library, fake_dcap_ql.c, with the published
  function signatures).

What is not tested anywhere: EREPORT itself and Intel's quoting enclave.
"""

import base64
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization as ser

from scone_cc.cas import client as cc
from scone_cc.cas import dcap

from ..conftest import gcc
from .conftest import REPO

DATA = REPO / "tests" / "cas" / "data"
QUOTE = (DATA / "dcap-qvl-sgx-quote.bin").read_bytes()
ROOT = x509.load_der_x509_certificate((DATA / "intel-sgx-root-ca.der").read_bytes())
HERE = REPO / "tests" / "cas"
INCLUDE = REPO / "runtime" / "include"

# Intel sgx_report.h: (field, offset, size) from its "( n)" comments.
TARGETINFO = [("mrenclave", 0, 32), ("attributes", 32, 8), ("xfrm", 40, 8), ("configsvn", 50, 2),
              ("miscselect", 52, 4), ("configid", 64, 64)]
REPORT = [("cpusvn", 0, 16), ("miscselect", 16, 4), ("isvextprodid", 32, 16), ("attributes", 48, 8),
          ("xfrm", 56, 8), ("mrenclave", 64, 32), ("mrsigner", 128, 32), ("configid", 192, 64),
          ("isvprodid", 256, 2), ("isvsvn", 258, 2), ("configsvn", 260, 2), ("isvfamilyid", 304, 16),
          ("reportdata", 320, 64), ("keyid", 384, 32), ("mac", 416, 16)]


def test_targetinfo_and_report_layouts_match_sgx_report_h(tmp_path):
    lines = ["#include <stdio.h>", "#include <scone/cas_protocol.h>", "#include <scone/sgx_report.h>",
             "int main(void) {"]
    for struct, fields in (("scone_sgx_targetinfo", TARGETINFO), ("scone_sgx_report", REPORT)):
        lines.append(f'printf("{struct} %zu\\n", sizeof(struct {struct}));')
        for name, _, _ in fields:
            lines.append(f'printf("{struct}.{name} %zu %zu\\n", offsetof(struct {struct}, {name}), '
                         f'sizeof(((struct {struct} *)0)->{name}));')
    lines.append("return 0; }")
    (tmp_path / "l.c").write_text("\n".join(lines))
    gcc(["-std=gnu11", f"-I{INCLUDE}", "-o", "l", "l.c"], tmp_path)
    got = subprocess.run([str(tmp_path / "l")], capture_output=True, text=True, check=True).stdout.split("\n")
    want = ["scone_sgx_targetinfo 512", *(f"scone_sgx_targetinfo.{n} {o} {s}" for n, o, s in TARGETINFO),
            "scone_sgx_report 432", *(f"scone_sgx_report.{n} {o} {s}" for n, o, s in REPORT), ""]
    assert got == want


def test_a_published_quote_verifies_to_the_intel_root():
    import dcap_qvl
    q = dcap.verify(QUOTE, ROOT)
    theirs = dcap_qvl.Quote.parse(QUOTE)
    assert q.report.mrenclave == theirs.report.mr_enclave
    assert q.report.mrsigner == theirs.report.mr_signer
    assert q.report.reportdata == theirs.report.report_data
    assert q.report.reportdata.rstrip(b"\0") == b"Hello, world!"
    assert q.report.attributes == int.from_bytes(theirs.report.attributes[:8], "little")
    assert not q.report.debug
    assert q.cert_data.rstrip(b"\0") == theirs.cert_chain_pem_bytes().rstrip(b"\0")
    # One flipped bit of the enclave's report, of the QE's report, of the
    # chain: each is refused.
    for off in (48 + 64, 436 + 128 + 10, len(QUOTE) - 200):
        bad = bytearray(QUOTE)
        bad[off] ^= 1
        with pytest.raises(dcap.EvidenceError):
            dcap.verify(bytes(bad), ROOT)
    from .quotes import make_pki
    with pytest.raises(dcap.EvidenceError, match="not at the trusted Intel SGX Root CA"):
        dcap.verify(QUOTE, make_pki()[1])


def test_the_cas_checks_a_published_quote(cas, tmp_path):
    """Through a running CAS: the quote's signatures and chain pass (to the
    real root), and what stops it is the binding: its REPORTDATA was made on
    hardware for no nonce of ours, which is replay protection at work."""
    root = tmp_path / "intel-root.pem"
    root.write_bytes(ROOT.public_bytes(ser.Encoding.PEM))
    cas.stop()
    cas.start("--dcap-root", str(root))
    admin = cc.AdminClient(cas.address, cas.pin)
    admin.create({"name": "s", "services": [{"name": "web", "mrenclaves": [dcap.verify(QUOTE, ROOT)
                                                                           .report.mrenclave.hex()]}]})
    with pytest.raises(cc.Refused, match="REPORTDATA does not bind the presented public key and nonce"):
        cc.attest(cas.address, cas.pin, "s", "web", lambda rd: QUOTE, kind="dcap")
    bad = bytearray(QUOTE)
    bad[48 + 64] ^= 1                 # its MRENCLAVE: the attestation key's signature breaks
    with pytest.raises(cc.Refused, match="signature"):
        cc.attest(cas.address, cas.pin, "s", "web", lambda rd: bytes(bad), kind="dcap")
    admin.close()


# --- the starter's half ---

@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """dcap_harness (static, as the starter) and the stand-in libraries."""
    d = tmp_path_factory.mktemp("dcap")
    src = REPO / "runtime" / "untrusted"
    gcc(["-O2", "-static", "-pthread", f"-I{INCLUDE}", f"-I{src}", "-o", "dcap_harness",
         str(HERE / "dcap_harness.c"), str(src / "dcapquote.c")], d)
    (d / "full").mkdir()
    (d / "partial").mkdir()
    gcc(["-O2", "-shared", "-fPIC", "-o", "full/libsgx_dcap_ql.so.1", str(HERE / "fake_dcap_ql.c")], d)
    gcc(["-O2", "-shared", "-fPIC", "-DNO_QUOTE", "-o", "partial/libsgx_dcap_ql.so.1",
         str(HERE / "fake_dcap_ql.c")], d)
    (d / "empty").mkdir()
    return d


def run(harness, libdir, *args, **env):
    e = {"LD_LIBRARY_PATH": str(harness / libdir), "PATH": "/usr/bin:/bin", **env}
    r = subprocess.run([str(harness / "dcap_harness"), *args], env=e, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rc, out = r.stdout.split("\n", 1)
    return int(rc), out.rstrip("\n")


def test_missing_library_is_one_line(harness):
    for call in ("target", "quote"):
        rc, line = run(harness, "empty", call, "65536")
        assert rc == -2                                          # -ENOENT
        assert line == ("DCAP quote library not installed: libsgx_dcap_ql.so.1: cannot open shared object "
                        "file: No such file or directory; install Intel's libsgx-dcap-ql (and configure its "
                        "PCCS) to attest on SGX hardware")


def test_incomplete_library_is_one_line(harness):
    rc, line = run(harness, "partial", "target", "65536")
    assert rc == -38                                             # -ENOSYS
    assert line == ("DCAP quote library libsgx_dcap_ql.so.1 lacks sgx_qe_get_quote; install Intel's "
                    "libsgx-dcap-ql 1.x or later")


def test_what_the_library_gives_reaches_the_enclave(harness, tmp_path):
    quote = tmp_path / "q.bin"
    quote.write_bytes(QUOTE)
    rc, out = run(harness, "full", "target", "65536")
    assert rc == 0 and out == bytes(range(256)).hex() * 2      # the library's TARGETINFO, as it is
    got = tmp_path / "report.bin"
    rc, out = run(harness, "full", "quote", "65536", FAKE_DCAP_QUOTE=str(quote), FAKE_DCAP_REPORT=str(got))
    assert rc == len(QUOTE) and bytes.fromhex(out) == QUOTE
    assert got.read_bytes() == b"\x5a" * 432                   # the enclave's REPORT, as it came
    # A quote larger than the enclave's buffer, one too small to be a quote, a library error.
    rc, out = run(harness, "full", "quote", "4096", FAKE_DCAP_QUOTE=str(quote))
    assert rc == -27     # the smallest quote: 48 + 384 + 4 + 584 bytes of fixed signature data
    assert out == "the DCAP quote library wants 4600 bytes for a quote; the enclave takes 1020 to 4096"
    quote.write_bytes(QUOTE[:1000])
    rc, out = run(harness, "full", "quote", "65536", FAKE_DCAP_QUOTE=str(quote))
    assert rc == -27
    rc, out = run(harness, "full", "target", "65536", FAKE_DCAP_ERROR="0xe019")
    assert rc == -5 and "sgx_qe_get_target_info: quote3_error_t 0xe019" in out
    rc, out = run(harness, "full", "quote", "65536", FAKE_DCAP_ERROR="0xe011")
    assert rc == -5 and "sgx_qe_get_quote_size: quote3_error_t 0xe011" in out
    # A buffer the enclave could not have given.
    rc, _ = run(harness, "full", "target", "100")
    assert rc == -22
    rc, _ = run(harness, "full", "quote", str(1 << 20))
    assert rc == -22


def test_the_enclave_carries_the_same_intel_root():
    """runtime/shield/cas/intel_root.h (what RA-TLS checks quotes against inside) is this DER."""
    import re
    text = (REPO / "runtime" / "shield" / "cas" / "intel_root.h").read_text()
    body = text[text.index("{") + 1:text.index("}")]
    assert bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", body)) == \
        (DATA / "intel-sgx-root-ca.der").read_bytes()
