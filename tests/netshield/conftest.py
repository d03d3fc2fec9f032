"""Fixtures for the network shield's tests: certificates made by the
openssl command (an independent tool), programs built with scone-gcc and
run in SIM, servers on free loopback ports."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until something listens on port (checked with ss, so no connection is made)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(scope="session")
def net_env(private_env):
    return private_env(drop=("SCONE_MODE", "SCONE_HASH", "SCONE_LOG", "SCONE_FS", "SCONE_HEAP"))


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A CA, a server certificate for localhost/127.0.0.1, a client
    certificate from the same CA, a second CA and its own server
    certificate, and a key that matches nothing."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    def key_csr(name, cn):
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")

    def sign(name, ca, ext=None):
        extra = ["-extfile", ext] if ext else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extra)

    (d / "san").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for ca in ("ca", "ca2"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN={ca}")
    key_csr("srv", "localhost")
    sign("srv", "ca", "san")
    key_csr("srv2", "localhost")
    sign("srv2", "ca2", "san")
    key_csr("cli", "client")
    sign("cli", "ca")
    key_csr("other", "other")
    return d


@pytest.fixture(scope="session")
def net_build(enclave_builder, net_env):
    """net_build(source, *flags) -> a binary (cached per arguments)."""
    return enclave_builder(net_env, base=HERE)
