"""The network shield takes its TLS identity from the CAS (PROTOCOL.md §4
`tls`, netpolicy `cert=cas:NAME`): a shielded server, signed with a CAS key,
serves TLS with a certificate the CAS issued from the session CA, and the
openssl command (an independent client) verifies it against that CA. The
private key exists only in the CAS and in enclave memory: never in a file,
the process's environment or command line, or a system call's bytes."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from tests.netshield.conftest import HERE as NETSHIELD, free_port, wait_port

from .conftest import cas_cli
from .test_attested_start import create, mrenclave, start_env

ECHO = (NETSHIELD / "echo_epoll.c").read_text()


def session(mr: str) -> str:
    return f"""
name: netid
secrets:
  - {{name: web, kind: x509, common_name: localhost, dns: [localhost]}}
services:
  - name: srv
    mrenclaves: ["{mr}"]
    allow_debug: true
    allow_sim: true
    tls: [{{name: web, certificate: "$$SCONE::web.crt$$", private_key: "$$SCONE::web.key$$",
           ca: "$$SCONE::SESSION_CA.crt$$"}}]
"""


def s_client(port: int, *args, line: str):
    """openssl s_client: send one line, read the echoed line, then hang up."""
    c = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-quiet", *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        c.stdin.write(line + "\n")
        c.stdin.flush()
        out = c.stdout.readline()
    finally:
        c.kill()
        _, err = c.communicate(timeout=30)
    return out, err


def key_body(pem: str) -> str:
    """The base64 of a PEM key, joined: what a leak would show."""
    return "".join(line for line in pem.splitlines() if "-----" not in line)


@pytest.mark.skipif(not shutil.which("openssl") or not shutil.which("strace"),
                    reason="needs the openssl and strace commands")
def test_server_identity_from_the_cas(build, cas, cas_env, tmp_path):
    port = free_port()
    srv = build("echo_cas", ECHO, f"--scone-cas-key={cas.pin}",
                f"--scone-net=server:127.0.0.1:{port}:tls:cert=cas:web")
    create(cas, tmp_path, session(mrenclave(srv)))
    shown = json.loads(cas.cli("show", "netid", "--json").stdout)
    ca = tmp_path / "session-ca.pem"
    ca.write_text(shown["session_ca"])
    # The key the server will hold, from the CAS's reference client (what a leak would show).
    ref = cas_cli(cas_env, "sim-attest", "--cas", cas.address, "--cas-key", cas.pin, "--binary", str(srv),
                  "netid/srv")
    assert ref.returncode == 0, ref.stderr
    tls = json.loads(ref.stdout)["tls"][0]
    secret = key_body(tls["private_key"])
    assert len(secret) > 100

    trace = tmp_path / "strace.out"
    env = start_env(cas_env, cas, "netid/srv")
    p = subprocess.Popen(["strace", "-f", "-s", "4096", "-o", str(trace), str(srv), str(port)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_port(port, p)
        out, err = s_client(port, "-verify_return_error", "-CAfile", str(ca), "-verify_hostname", "localhost",
                            line="hello-cas-identity")
        assert out == "hello-cas-identity\n", err
        assert "CN = scone-cas session CA netid" in err and "verify error" not in err, err
        # Another CA's client is refused by openssl's own verification.
        other = tmp_path / "other.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", str(tmp_path / "o.key"), "-out", str(other), "-days", "1",
                        "-subj", "/CN=other"], check=True, capture_output=True)
        bad = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-verify_return_error",
                              "-CAfile", str(other)], input="", capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "verify error" in bad.stderr, bad.stderr
        pid = p.pid
        procs = [pid] + [int(x) for x in re.findall(r"^(\d+) ", trace.read_text(), re.M)]
        for q in set(procs):
            for what in ("environ", "cmdline"):
                try:
                    data = open(f"/proc/{q}/{what}", "rb").read().decode(errors="replace")
                except OSError:
                    continue
                assert secret[48:80] not in data and "PRIVATE KEY" not in data
    finally:
        os.killpg(p.pid, signal.SIGTERM)     # strace and the server it runs: our own group only
        p.communicate(timeout=30)
    text = trace.read_text()
    assert "execve" in text and "connect(" in text     # the trace saw the CAS connection
    # The first 48 base64 digits of any P-256 PKCS#8 key are the same header
    # (the starter reads this machine's SIM key file, which has it too);
    # what follows is this key's own.
    for chunk in (secret[i:i + 16] for i in range(48, len(secret) - 16, 16)):
        assert chunk not in text


def test_policy_forms_and_refusals(build, cas, cas_env, tmp_path):
    """cert=cas:NAME needs a CAS key at sign time; a name the CAS does not give is one log line."""
    port = free_port()
    src = tmp_path / "e.c"
    src.write_text(ECHO)
    r = subprocess.run(["scone-gcc", "-o", str(tmp_path / "e"), str(src),
                        f"--scone-net=server:127.0.0.1:{port}:tls:cert=cas:web"],
                       env=cas_env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "names a CAS identity, but the enclave is signed without a CAS key" in r.stderr
    r = subprocess.run(["scone-gcc", "-o", str(tmp_path / "e"), str(src),
                        f"--scone-net=server:127.0.0.1:{port}:tls:cert=cas:web,key=/k.pem"],
                       env=cas_env, capture_output=True, text=True)
    assert r.returncode != 0 and "brings its own key; drop key=" in r.stderr

    srv = build("echo_cas_missing", ECHO, f"--scone-cas-key={cas.pin}",
                f"--scone-net=server:127.0.0.1:{port}:tls:cert=cas:nosuch")
    create(cas, tmp_path, session(mrenclave(srv)).replace("name: netid", "name: netid2"))
    env = dict(start_env(cas_env, cas, "netid2/srv"), SCONE_LOG="warn")
    r = subprocess.run([str(srv), str(port)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0      # the shield refuses the bind: the program cannot serve without it
    lines = [ln for ln in r.stderr.splitlines() if "cas:nosuch" in ln]
    assert len(lines) == 1, r.stderr
    assert "the CAS gave no TLS identity of that name" in lines[0]
