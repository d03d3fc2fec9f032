"""A Python RA-TLS endpoint (scone_cc.cas.ratls) for the enclave's RA-TLS tests.

    python ratls_peer.py server PORT BINARY [--lift|--other-sim-key|--debug-off]
                                                 serve one connection, echo lines
    python ratls_peer.py client PORT MRENCLAVE LINE [--allow sim,debug]

The server presents a certificate whose SIM evidence says it is BINARY's
enclave (made with this machine's SIM key, as the starter would), or, as an
attacker would: evidence lifted from a certificate of another key
(--lift), signed by a SIM key that is not this machine's (--other-sim-key),
or tampered after signing (--tamper); or a DCAP quote: one made on SGX
hardware and published (--published-quote: real signatures and PCK chain,
its REPORTDATA for no key of ours), the same with one bit of its report
flipped (--tampered-quote), or one assembled with a test PCK hierarchy
(--test-root-quote, tests/cas/quotes.py); the client
requires MRENCLAVE of its peer. A refusal is one line and exit 1.
"""

import socket
import ssl
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scone_cc.cas import ratls, sim  # noqa: E402
from scone_cc.errors import SconeError  # noqa: E402


def server(port: int, binary: str, how: str) -> int:
    key = ec.generate_private_key(ec.SECP256R1())
    bound = ec.generate_private_key(ec.SECP256R1()) if how == "--lift" else key
    other = ec.generate_private_key(ec.SECP256R1()) if how == "--other-sim-key" else None
    kind = "sim"
    if how.endswith("-quote"):
        kind = "dcap"
        evidence = (REPO / "tests" / "cas" / "data" / "dcap-qvl-sgx-quote.bin").read_bytes()
        if how == "--tampered-quote":
            evidence = evidence[:48 + 64] + bytes([evidence[48 + 64] ^ 1]) + evidence[48 + 65:]
        elif how == "--test-root-quote":
            from tests.cas.quotes import assemble_quote
            evidence = assemble_quote(ratls.reportdata(key), mrenclave=evidence[48 + 64:48 + 96])[0]
    else:
        evidence = sim.evidence_for_binary(binary, ratls.reportdata(bound), key=other)
    if how == "--tamper":
        evidence = evidence[:12 + 64] + bytes([evidence[12 + 64] ^ 1]) + evidence[12 + 65:]   # MRENCLAVE
    cert = ratls.make_certificate(key, evidence, kind)
    with tempfile.TemporaryDirectory() as d:
        c, k = Path(d, "c.pem"), Path(d, "k.pem")
        c.write_bytes(cert.public_bytes(ser.Encoding.PEM))
        k.write_bytes(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(c, k)
    ls = socket.create_server(("127.0.0.1", port))
    print("ready", flush=True)
    conn, _ = ls.accept()
    try:
        s = ctx.wrap_socket(conn, server_side=True)
    except ssl.SSLError as err:
        print(f"ratls-peer server: the client refused the handshake: {err.reason or err}", flush=True)
        return 1
    line = s.makefile("rb").readline()
    s.sendall(line)
    s.close()
    return 0


def client(port: int, mrenclave: str, line: str, allow: str) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the RA-TLS verifier decides, right after the handshake
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    kid = sim.key_id(sim.sim_key().public_key())
    try:
        ratls.verify_peer(s, mrenclave=mrenclave, allow_sim="sim" in allow, allow_debug="debug" in allow,
                          sim_key_ids={kid})
    except SconeError as err:
        print(f"ratls-peer client refused: {err}", flush=True)
        return 1
    s.sendall(line.encode() + b"\n")
    print(s.makefile("rb").readline().decode().rstrip("\n"), flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "server":
        sys.exit(server(int(a[1]), a[2], a[3] if len(a) > 3 else ""))
    allow = a[a.index("--allow") + 1] if "--allow" in a else ""
    sys.exit(client(int(a[1]), a[2], a[3], allow))
