"""The network shield in SIM: an unmodified epoll echo server (echo_epoll.c,
no TLS code) reachable only over TLS; a blocking client (tls_client.c)
that verifies its peer; bad certificates, keys and peers; what the host
sees (strace). TLS peers are Python's ssl module and openssl s_server."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager

import pytest

from .conftest import free_port, wait_port


def server_flag(port, certs, key="srv.key", extra=""):
    return (f"--scone-net=server:127.0.0.1:{port}:tls:cert={certs}/srv.pem,"
            f"key={certs}/{key}{extra}")


@contextmanager
def serving(binary, port, env, log_path):
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(binary), str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(port, proc)
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def tls_echo(port, data, cafile, cert=None, key=None, timeout=30):
    """Send data over TLS in 16 KiB steps, reading each echo back before the
    next (one thread: an SSL object is not for concurrent reads and writes);
    return what came back."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        try:
            for at in range(0, len(data), 16384):
                s.sendall(data[at:at + 16384])
                while len(got) < min(at + 16384, len(data)):
                    b = s.recv(65536)
                    if not b:
                        return bytes(got)
                    got.extend(b)
        except (ssl.SSLError, OSError):
            pass
    return bytes(got)


def plain_exchange(port, data):
    """Send data in clear; what comes back before the server closes (bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except (ConnectionResetError, socket.timeout):
            pass
        return got


def shield_lines(log_path):
    return [line for line in open(log_path).read().splitlines() if "net shield" in line]


def test_echo_over_tls_and_nothing_in_clear(net_build, net_env, certs, tmp_path):
    port = free_port()
    binary = net_build("echo_epoll.c", server_flag(port, certs))
    log = tmp_path / "server.log"
    with serving(binary, port, net_env, log) as proc:
        assert tls_echo(port, b"hello through the shield", certs / "ca.pem") == b"hello through the shield"
        big = os.urandom(1 << 20)
        assert tls_echo(port, big, certs / "ca.pem") == big
        # a plain-text client: no echo, no plaintext, the connection closed
        got = plain_exchange(port, b"PLAINTEXT-REQUEST\r\n")
        assert b"PLAINTEXT-REQUEST" not in got
        assert not got.startswith(b"PLAIN")
        # and the server goes on serving
        assert tls_echo(port, b"still here", certs / "ca.pem") == b"still here"
        assert proc.poll() is None
    lines = shield_lines(log)
    assert len(lines) == 1 and "handshake failed" in lines[0], lines


def test_client_certificates_required(net_build, net_env, certs, tmp_path):
    port = free_port()
    binary = net_build("echo_epoll.c", server_flag(port, certs, extra=f",ca={certs}/ca.pem"))
    log = tmp_path / "server.log"
    with serving(binary, port, net_env, log) as proc:
        try:   # TLS 1.3: the refusal may come as an alert after the client's side finished
            got = tls_echo(port, b"no certificate", certs / "ca.pem", timeout=10)
        except (ssl.SSLError, ConnectionError, socket.timeout):
            got = None
        assert got in (None, b"")
        assert tls_echo(port, b"with certificate", certs / "ca.pem", certs / "cli.pem",
                        certs / "cli.key") == b"with certificate"
        assert proc.poll() is None
    lines = shield_lines(log)
    assert len(lines) == 1 and "handshake failed" in lines[0], lines


@pytest.mark.parametrize("case", ["missing", "mismatch"])
def test_bad_key_is_one_line_at_start(net_build, net_env, certs, tmp_path, case):
    port = free_port()
    key = "absent.key" if case == "missing" else "other.key"
    binary = net_build("echo_epoll.c", server_flag(port, certs, key=key))
    r = subprocess.run([str(binary), str(port)], env=net_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if "net shield" in line]
    assert len(lines) == 1, r.stderr
    if case == "missing":
        assert f"{certs}/absent.key: no such file" in lines[0]
    else:
        assert "do not make an identity" in lines[0] and "other.key" in lines[0]
    assert "bind/listen: Permission denied" in r.stderr


def test_bad_peers_and_many_connections(net_build, net_env, certs, tmp_path):
    """Garbage, a handshake cut in the middle and 200 connections opened and
    closed at once: one line each at most, and the server serves on."""
    port = free_port()
    binary = net_build("echo_epoll.c", server_flag(port, certs))
    log = tmp_path / "server.log"
    with serving(binary, port, net_env, log) as proc:
        plain_exchange(port, os.urandom(3000))
        # the first bytes of a real ClientHello, then silence and close
        hello = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ssl.create_default_context().wrap_bio(*hello, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        first = hello[1].read()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(first[:len(first) // 2])
            time.sleep(0.3)
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
        for s in socks:
            s.close()
        assert tls_echo(port, b"after the storm", certs / "ca.pem") == b"after the storm"
        assert proc.poll() is None
    lines = shield_lines(log)
    assert 2 <= len(lines) <= 202, lines
    assert sum("handshake failed" in line for line in lines) == 1, lines


def test_client_policy_verifies_the_peer(net_build, net_env, certs, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")

    def s_server(port, cert, key):
        p = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-cert", str(cert),
                              "-key", str(key), "-rev", "-naccept", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_port(port, p)
        return p

    def client(port, name="localhost"):
        b = net_build("tls_client.c", f"--scone-net=client:127.0.0.1:{port}:tls:ca={certs}/ca.pem,name={name}")
        return subprocess.run([str(b), str(port), "ping-server"], env=net_env, capture_output=True,
                              text=True, timeout=60)

    port = free_port()
    srv = s_server(port, certs / "srv.pem", certs / "srv.key")
    try:
        r = client(port)
    finally:
        srv.kill()
        srv.wait()
    assert r.returncode == 0 and "reply: revres-gnip" in r.stdout, (r.stdout, r.stderr)
    assert "net shield" not in r.stderr

    for cert, key, name in ((certs / "srv2.pem", certs / "srv2.key", "localhost"),   # wrong CA
                            (certs / "srv.pem", certs / "srv.key", "db.internal")):  # wrong name
        port = free_port()
        srv = s_server(port, cert, key)
        try:
            r = client(port, name)
        finally:
            srv.kill()
            srv.wait()
        assert r.returncode == 1 and "revres" not in r.stdout, r.stdout
        lines = [line for line in r.stderr.splitlines() if "net shield" in line]
        assert len(lines) == 1 and "certificate verify failed" in lines[0] and name in lines[0], r.stderr


def test_host_sees_no_plaintext(net_build, net_env, certs, tmp_path):
    """strace on the starter: a known value written through a shielded
    socket never appears in a write/sendto/sendmsg/writev (nor in
    pwritev2, which the sthreads use for writes to sockets); through the
    same program without the policy it does (the check can fail)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    secret = b"SECRET-" + os.urandom(8).hex().encode()
    seen = {}
    for name, shielded in (("tls", True), ("clear", False)):
        port = free_port()
        binary = net_build("echo_epoll.c", *([server_flag(port, certs)] if shielded else []))
        trace = tmp_path / f"{name}.strace"
        cmd = ["strace", "-f", "-e", "trace=write,sendto,sendmsg,writev,pwrite64,pwritev,pwritev2", "-s", "4096", "-o", str(trace),
               str(binary), str(port)]
        with open(tmp_path / f"{name}.log", "w") as log:
            proc = subprocess.Popen(cmd, env=net_env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_port(port, proc, timeout=60)
                if shielded:
                    assert tls_echo(port, secret, certs / "ca.pem") == secret
                else:
                    with socket.create_connection(("127.0.0.1", port)) as s:
                        s.sendall(secret)
                        assert s.recv(4096) == secret
            finally:
                # end the traced program; strace then writes out what it saw and exits
                kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
                for pid in kids.stdout.split():
                    os.kill(int(pid), signal.SIGKILL)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        seen[name] = secret.decode() in trace.read_text(errors="replace")
    assert seen == {"tls": False, "clear": True}


def test_sendfile_to_a_tls_socket(net_build, net_env, certs, tmp_path):
    """sendfile from a file to a shielded socket (nginx's path) goes through
    the engine: the client reads the file's bytes over TLS, and strace shows
    no sendfile call on the host."""
    content = os.urandom(3 << 20)
    (tmp_path / "blob").write_bytes(content)
    port = free_port()
    binary = net_build("sendfile_server.c", server_flag(port, certs))
    trace = tmp_path / "sendfile.strace"
    proc = subprocess.Popen(["strace", "-f", "-e", "trace=sendfile", "-o", str(trace), str(binary), str(port),
                             str(tmp_path / "blob")], env=net_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, proc, timeout=60)
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        got = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got.extend(b)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert f"sent {len(content)}" in out
    assert bytes(got) == content
    assert "sendfile(" not in trace.read_text()
