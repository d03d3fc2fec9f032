"""RA-TLS inside the enclave (PROTOCOL.md §8; netpolicy cert=ratls and
mrenclave=/mrsigner=): an enclave server presents a certificate of a key it
made, with its SIM evidence in the extension; an enclave client requires a
peer's evidence for an MRENCLAVE. Each side is tested against the other
and against the Python implementation (scone_cc.cas.ratls, in
ratls_peer.py), whose verifier and certificates are the reference.
Expected MRENCLAVEs come from `scone-sign show`."""

import subprocess
import sys

import pytest

from tests.netshield.conftest import HERE as NETSHIELD, free_port, wait_port

from .conftest import HERE
from .test_attested_start import mrenclave

ECHO = (NETSHIELD / "echo_epoll.c").read_text()
CLIENT = (NETSHIELD / "tls_client.c").read_text()
PEER = HERE / "ratls_peer.py"


def peer(env, *args, **kw):
    return subprocess.run([sys.executable, str(PEER), *args], env=env, capture_output=True, text=True,
                          timeout=60, **kw)


class Server:
    """An enclave RA-TLS echo server on a port fixed in its signed policy."""

    def __init__(self, binary, port, env):
        self.port = port
        self.p = subprocess.Popen([str(binary), str(port)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        wait_port(port, self.p)

    def stop(self) -> str:
        self.p.terminate()
        return self.p.communicate(timeout=30)[1]


@pytest.fixture(scope="module")
def server(build):
    port = free_port()
    return build("ratls_echo", ECHO, f"--scone-net=server:127.0.0.1:{port}:tls:cert=ratls"), port


def client(build, name, port, *req):
    return build(name, CLIENT, f"--scone-net=client:127.0.0.1:{port}:tls:" + ",".join(req))


def one_line(text: str, needle: str) -> str:
    lines = [ln for ln in text.splitlines() if needle in ln]
    assert len(lines) == 1, text
    return lines[0]


def test_enclave_server_to_python_client(server, cas_env):
    binary, port = server
    mr = mrenclave(binary)
    s = Server(binary, port, cas_env)
    try:
        ok = peer(cas_env, "client", str(port), mr, "hello-ratls", "--allow", "sim,debug")
        assert ok.returncode == 0 and ok.stdout == "hello-ratls\n", ok.stdout + ok.stderr
        # The Python verifier's own refusals of this certificate.
        bad = peer(cas_env, "client", str(port), "00" * 32, "x", "--allow", "sim,debug")
        assert bad.returncode == 1
        assert bad.stdout == f"ratls-peer client refused: peer MRENCLAVE {mr[:16]}… is not the required " \
                             f"{'00' * 8}…\n"
        nosim = peer(cas_env, "client", str(port), mr, "x", "--allow", "debug")
        assert "SIM evidence, which is not accepted here" in nosim.stdout
        nodebug = peer(cas_env, "client", str(port), mr, "x", "--allow", "sim")
        assert "debug enclave" in nodebug.stdout
    finally:
        err = s.stop()
    assert "TLS handshake failed" not in err   # a Python client that refuses just hangs up


def test_python_server_to_enclave_client(server, build, cas_env):
    target, _ = server                      # the Python server plays this enclave
    mr = mrenclave(target)
    port = free_port()
    good = client(build, "ratls_cli_ok", port, f"mrenclave={mr}", "allow=sim+debug")
    py = subprocess.Popen([sys.executable, str(PEER), "server", str(port), str(target)], env=cas_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert py.stdout.readline() == "ready\n", py.stderr.read()
    r = subprocess.run([str(good), str(port), "hello-from-enclave"], env=cas_env, capture_output=True,
                       text=True, timeout=60)
    out, err = py.communicate(timeout=30)
    assert r.stdout == "reply: hello-from-enclave\n", r.stdout + r.stderr
    assert py.returncode == 0, out + err

    wrong = client(build, "ratls_cli_wrong", port, f"mrenclave={'ab' * 32}", "allow=sim+debug")
    py = subprocess.Popen([sys.executable, str(PEER), "server", str(port), str(target)], env=cas_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert py.stdout.readline() == "ready\n"
    r = subprocess.run([str(wrong), str(port), "x"], env=cas_env, capture_output=True, text=True, timeout=60)
    out, err = py.communicate(timeout=30)
    line = one_line(r.stderr, "RA-TLS")
    assert f"peer MRENCLAVE {mr[:16]}… is not the required {'ab' * 8}…" in line
    assert py.returncode == 1
    assert one_line(out, "ratls-peer server").startswith("ratls-peer server: the client refused the handshake")


def test_enclave_to_enclave(server, build, cas_env):
    binary, port = server
    mr = mrenclave(binary)
    good = client(build, "ratls_e2e_ok", port, f"mrenclave={mr}", "allow=sim+debug")
    wrong = client(build, "ratls_e2e_wrong", port, f"mrenclave={'cd' * 32}", "allow=sim+debug")
    nosim = client(build, "ratls_e2e_nosim", port, f"mrenclave={mr}", "allow=debug")
    s = Server(binary, port, cas_env)
    try:
        r = subprocess.run([str(good), str(port), "enclave-to-enclave"], env=cas_env, capture_output=True,
                           text=True, timeout=60)
        assert r.stdout == "reply: enclave-to-enclave\n", r.stdout + r.stderr
        r = subprocess.run([str(wrong), str(port), "x"], env=cas_env, capture_output=True, text=True, timeout=60)
        line = one_line(r.stderr, "RA-TLS")
        assert f"peer MRENCLAVE {mr[:16]}… is not the required {'cd' * 8}…" in line
        r = subprocess.run([str(nosim), str(port), "x"], env=cas_env, capture_output=True, text=True, timeout=60)
        assert "SIM evidence, which this policy does not accept" in one_line(r.stderr, "RA-TLS")
    finally:
        err = s.stop()
    # The server's side of each refusal: one line per refused connection.
    refused = [ln for ln in err.splitlines() if "TLS handshake failed" in ln]
    assert len(refused) == 2, err
    assert all("alert" in ln and "the peer refused this enclave's RA-TLS certificate" in ln for ln in refused)


def test_requirement_forms(build, cas_env, tmp_path):
    src = tmp_path / "c.c"
    src.write_text(CLIENT)

    def cc(*opts):
        return subprocess.run(["scone-gcc", "-o", str(tmp_path / "c"), str(src),
                               "--scone-net=client:127.0.0.1:9:tls:" + ",".join(opts)],
                              env=cas_env, capture_output=True, text=True)

    for opts, why in [(("mrenclave=12",), "is not 64 hex digits"),
                      ((f"mrenclave={'1' * 64}", f"mrsigner={'2' * 64}"), "(one of them)"),
                      ((f"mrenclave={'1' * 64}", "isvprodid=3"), "go with mrsigner="),
                      ((f"mrsigner={'1' * 64}", "min_isvsvn=70000"), "is not 0..65535"),
                      ((f"mrenclave={'1' * 64}", "allow=all"), "expected sim, debug or sim+debug"),
                      ((f"mrenclave={'1' * 64}", "ca=/ca.pem"), "not both")]:
        r = cc(*opts)
        assert r.returncode != 0 and why in r.stderr, (opts, r.stderr)
    r = cc(f"mrsigner={'A' * 64}", "isvprodid=3", "min_isvsvn=2", "allow=sim")
    assert r.returncode == 0, r.stderr
    shown = subprocess.run(["scone-sign", "show", str(tmp_path / "c")], capture_output=True, text=True).stdout
    assert f"ca=ratls:mrsigner={'a' * 64};isvprodid=3;min_isvsvn=2;sim" in shown


@pytest.fixture(scope="module")
def forged_client(server, build):
    port = free_port()
    return client(build, "ratls_cli_forged", port, f"mrenclave={mrenclave(server[0])}", "allow=sim+debug"), port


@pytest.mark.parametrize("how, why", [
    ("--lift", "REPORTDATA does not bind the certificate's key"),
    ("--other-sim-key", "signed by a SIM key that is not this machine's"),
    ("--tamper", "the SIM signature does not verify"),
])
def test_enclave_client_refuses_forged_evidence(server, forged_client, cas_env, how, why):
    """What an attacker's server would try: each refused with its reason."""
    target, _ = server
    cli, port = forged_client
    py = subprocess.Popen([sys.executable, str(PEER), "server", str(port), str(target), how], env=cas_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert py.stdout.readline() == "ready\n", py.stderr.read()
    r = subprocess.run([str(cli), str(port), "x"], env=cas_env, capture_output=True, text=True, timeout=60)
    py.communicate(timeout=30)
    assert why in one_line(r.stderr, "RA-TLS"), r.stderr
    assert "reply:" not in r.stdout


PUBLISHED_MRENCLAVE = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"


@pytest.mark.parametrize("how, why", [
    # Every signature and the PCK chain to the real Intel SGX Root CA pass
    # inside the enclave; what stops it is the binding to the certificate.
    ("--published-quote", "REPORTDATA does not bind the certificate's key"),
    ("--tampered-quote", "enclave report signature does not verify with its attestation key"),
    ("--test-root-quote", "does not end at the trusted Intel SGX Root CA"),
])
def test_enclave_client_checks_dcap_quotes(build, cas_env, how, why):
    port = free_port()
    cli = client(build, f"ratls_cli_dcap_{how[2:]}", port, f"mrenclave={PUBLISHED_MRENCLAVE}")
    py = subprocess.Popen([sys.executable, str(PEER), "server", str(port), "-", how], env=cas_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert py.stdout.readline() == "ready\n", py.stderr.read()
    r = subprocess.run([str(cli), str(port), "x"], env=cas_env, capture_output=True, text=True, timeout=60)
    py.communicate(timeout=30)
    assert why in one_line(r.stderr, "RA-TLS"), r.stderr
