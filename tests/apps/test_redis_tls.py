"""Redis built unmodified without TLS (BUILD_TLS=no), relinked with the
network shield's policy: reachable only over TLS, with keys the host
never sees. Clients are the stock redis-cli/redis-benchmark with --tls."""

import shutil
import subprocess

import pytest

from appkit import probe, redis, server

from .conftest import built, is_enclave


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    (d / "san").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ca")
    for name, ext in (("srv", ["-extfile", "san"]), ("cli", [])):
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext)
    return d


def relink(tree, scone, out, *flags):
    return redis.relinked_server(tree, scone, out, *flags)


@pytest.fixture(scope="module")
def tree(scone):
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    t = built(redis.build_tree, scone)
    assert is_enclave(t / "src" / "redis-server")
    return t


def cli(port, certs, *args, tls=True, cert=False, stdin=None):
    cmd = ["redis-cli", "-p", str(port)]
    if tls:
        cmd += ["--tls", "--cacert", str(certs / "ca.pem")]
    if cert:
        cmd += ["--cert", str(certs / "cli.pem"), "--key", str(certs / "cli.key")]
    return subprocess.run(cmd + list(args), capture_output=True, timeout=60, input=stdin)


def serve(tree, scone, binary, port, tmp_path):
    cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]
    log = open(tmp_path / f"server-{port}.log", "w")
    return log, server.running(cmd, port, scone.environ(redis.ALLOW), log)


def test_redis_only_over_tls(tree, scone, certs, tmp_path):
    if not shutil.which("redis-cli") or not shutil.which("redis-benchmark"):
        pytest.skip("redis-cli/redis-benchmark are not installed")
    port = server.free_port()
    binary = relink(tree, scone, tmp_path / "redis-server-tls",
                    f"--scone-net=server:{port}:tls:cert={certs}/srv.pem,key={certs}/srv.key")
    log, running = serve(tree, scone, binary, port, tmp_path)
    with log, running as proc:
        assert cli(port, certs, "SET", "k", "over-tls").stdout == b"OK\n"
        assert cli(port, certs, "GET", "k").stdout == b"over-tls\n"
        big = bytes(range(97, 123)) * ((1 << 20) // 26 + 1)
        big = big[:1 << 20]
        assert cli(port, certs, "-x", "SET", "big", stdin=big).stdout == b"OK\n"
        assert cli(port, certs, "STRLEN", "big").stdout == b"1048576\n"
        assert cli(port, certs, "GET", "big").stdout == big + b"\n"
        bench = subprocess.run(["redis-benchmark", "-p", str(port), "--tls", "--cacert", str(certs / "ca.pem"),
                                "-n", "2000", "-q", "-t", "set,get"], capture_output=True, text=True, timeout=300)
        assert bench.returncode == 0, bench.stderr
        assert "SET: " in bench.stdout and "GET: " in bench.stdout and "requests per second" in bench.stdout
        # a plain-text client: no reply in clear
        plain = cli(port, certs, "PING", tls=False)
        assert b"PONG" not in plain.stdout and plain.returncode != 0
        assert cli(port, certs, "PING").stdout == b"PONG\n"
        assert proc.poll() is None


def test_redis_client_certificates(tree, scone, certs, tmp_path):
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli is not installed")
    port = server.free_port()
    binary = relink(tree, scone, tmp_path / "redis-server-mtls",
                    f"--scone-net=server:{port}:tls:cert={certs}/srv.pem,key={certs}/srv.key,ca={certs}/ca.pem")
    log, running = serve(tree, scone, binary, port, tmp_path)
    with log, running as proc:
        refused = cli(port, certs, "PING")
        assert b"PONG" not in refused.stdout
        assert cli(port, certs, "PING", cert=True).stdout == b"PONG\n"
        assert cli(port, certs, "PING").stdout != b"PONG\n"
        assert cli(port, certs, "SET", "a", "b", cert=True).stdout == b"OK\n"
        assert proc.poll() is None
